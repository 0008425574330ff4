"""A counter of committed changes to the reference data, so each worker knows when its snapshot
of it (reference/snapshot.py) is stale.

Any session that writes a reference table bumps the counter in the same transaction.
Every answer that uses the snapshot reads the counter in the same statement as its own
data (a scan reads it with its plate) or just before, and the worker reads the tables
again when it has moved: a committed change shows on the very next answer, in every
worker and on every server. Plates and buildings are never held in memory, so their
changes touch no counter. (Writes must go through a Session, or say what they wrote
with `written`: plain SQL on a Connection is not seen.)
"""

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from platesvc.store.models import (
    AssistanceOffice,
    CultureNote,
    CultureZone,
    Division,
    Generations,
    Officer,
    PoliceBeat,
    Road,
    ServicePoint,
)
from platesvc.store.prepared import PreparedRead

WATCHED = frozenset(model.__tablename__ for model in (
    Division, Road, PoliceBeat, Officer, ServicePoint, CultureZone, CultureNote, AssistanceOffice))
CURRENT = select(Generations.reference).where(Generations.id == 1)
_CURRENT = PreparedRead(CURRENT)  # no session for it: it is asked alongside answers that need none
_BUMPED = "platesvc_generation_bumped"  # in this (sub)transaction


def current(engine) -> int:
    """The reference counter as committed now."""
    return _CURRENT.one_or_none(engine)["reference"]


def watch_sessions() -> None:
    """Count every session's writes to the reference tables (once a process, however many apps it makes)."""
    for name, listener in (("after_flush", _after_flush), ("do_orm_execute", _after_bulk_write),
                           ("after_transaction_end", _forget_bump)):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


def written(session: Session, tables) -> None:
    """Count a write to these tables that went around the Session (a COPY on the driver's connection)."""
    _bump(session, set(tables))


def _bump(session: Session, tables) -> None:
    if WATCHED & tables and not session.info.get(_BUMPED):
        session.info[_BUMPED] = True
        # On the Connection, so the bump does not come back through do_orm_execute.
        session.connection().execute(
            update(Generations).where(Generations.id == 1).values(reference=Generations.reference + 1))


def _after_flush(session: Session, _context) -> None:
    _bump(session, {getattr(obj, "__tablename__", None) for obj in session.new | session.dirty | session.deleted})


def _after_bulk_write(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        _bump(state.session, {getattr(getattr(state.statement, "table", None), "name", None)})


def _forget_bump(session: Session, _transaction) -> None:
    session.info.pop(_BUMPED, None)
