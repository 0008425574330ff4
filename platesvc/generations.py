"""Counters of committed changes, so each worker knows when its in-memory copies are stale.

Workers keep the reference data (the plate page's snapshot) and the map's features in
memory. Any session that writes a watched table bumps that table's counter in the same
transaction; a reader compares the counter it reads with its copy's and reloads when
they differ. A scan reads the counter with its plate, so a committed change shows on
its very next page in every worker. Map answers (nearby, OGC items) may take counters
read by this process within the last `max_age` seconds, unless the process has since
committed a change itself: a change made elsewhere shows there within that time.
(Writes must go through a Session: plain SQL on a Connection is not seen.)
"""

import time
import weakref

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
_BUMPED = "platesvc_generations_bumped"  # in this (sub)transaction
_CHANGED = "platesvc_generations_changed"  # in this session's transaction, until it commits or rolls back
_LAST_READ: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # engine → (when, counters)
_forgotten = 0  # how many times this process has forgotten what it read (after committing a change)


def current(engine, max_age: float = 0.0) -> dict[str, int]:
    """Every counter: {"reference": n, "plates": m}, read now, or by this process less than max_age s ago."""
    if max_age > 0:
        last = _LAST_READ.get(engine)
        if last is not None and time.monotonic() - last[0] < max_age:
            return last[1]
    mark = read_starts()
    counters = _CURRENT.one_or_none(engine)
    note(engine, counters, mark)
    return counters


def read_starts() -> tuple[int, float]:
    """Taken just before reading the counters, for note()."""
    return _forgotten, time.monotonic()


def note(engine, counters, mark: tuple[int, float]) -> None:
    """Counters this process read (since `mark`), for current() to give within max_age.

    A read begun before this process committed a change may be older than that change:
    it is not kept.
    """
    forgotten, started = mark
    if forgotten == _forgotten:
        _LAST_READ[engine] = (started, dict(counters))


def _bump(session: Session, tables) -> None:
    bumped = session.info.setdefault(_BUMPED, set())
    counters = {name for name, watched in WATCHED.items() if watched & tables} - bumped
    if counters:
        bumped.update(counters)
        session.info[_CHANGED] = True
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


@event.listens_for(Session, "after_commit")
def _forget_last_read(session: Session) -> None:
    global _forgotten
    if session.info.pop(_CHANGED, False):  # this process changed something: read the counters afresh
        _forgotten += 1
        _LAST_READ.clear()


@event.listens_for(Session, "after_rollback")
def _nothing_changed(session: Session) -> None:
    session.info.pop(_CHANGED, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_bumps(session: Session, _transaction) -> None:
    session.info.pop(_BUMPED, None)
