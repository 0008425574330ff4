"""Counters of committed changes, so each worker knows when its in-memory copies are stale.

Workers keep the reference data (the plate page's snapshot) and the map's features in
memory. Any session that writes a watched table bumps that table's counter in the same
transaction; a reader compares the counter it reads with its copy's and reloads when
they differ, so a committed change shows on the very next request in every worker.
(Writes must go through a Session: plain SQL on a Connection is not seen.)
"""

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from platesvc.models import (
    Building,
    CultureNote,
    CultureZone,
    Division,
    Generations,
    Officer,
    Plate,
    PoliceBeat,
    Road,
    ServicePoint,
)
from platesvc.prepared import PreparedRead

WATCHED = {
    "reference": frozenset(model.__tablename__ for model in (
        Division, Road, PoliceBeat, Officer, ServicePoint, CultureZone, CultureNote)),
    "plates": frozenset(model.__tablename__ for model in (Plate, Building)),
}
CURRENT = select(Generations.reference, Generations.plates).where(Generations.id == 1)
_CURRENT = PreparedRead(CURRENT)  # asked on every map request: no session for it
_BUMPED = "platesvc_generations_bumped"


def current(engine) -> dict[str, int]:
    """Every counter now: {"reference": n, "plates": m}."""
    return _CURRENT.one_or_none(engine)


def _bump(session: Session, tables) -> None:
    bumped = session.info.setdefault(_BUMPED, set())
    counters = {name for name, watched in WATCHED.items() if watched & tables} - bumped
    if counters:
        bumped.update(counters)
        # On the Connection, so the bump does not come back through do_orm_execute.
        session.connection().execute(
            update(Generations).where(Generations.id == 1)
            .values({name: getattr(Generations, name) + 1 for name in sorted(counters)}))


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    _bump(session, {getattr(obj, "__tablename__", None) for obj in session.new | session.dirty | session.deleted})


@event.listens_for(Session, "do_orm_execute")
def _after_bulk_write(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        _bump(state.session, {getattr(getattr(state.statement, "table", None), "name", None)})


@event.listens_for(Session, "after_transaction_end")
def _forget_bumps(session: Session, _transaction) -> None:
    session.info.pop(_BUMPED, None)
