"""The audit trail: who changed what, when and why, one row an event, never changed after.

Every change staff make (and what imports, issuing and printing do) adds an event in
the same transaction as the change, so the two commit or vanish together. The table's
triggers refuse updates and deletes (migration 0008).
"""

import getpass
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from platesvc.store.bulk_writes import insert_rows
from platesvc.store.models import AuditEvent, User


@dataclass(frozen=True)
class Actor:
    """Who an event is recorded against."""

    name: str
    user_id: int | None = None

    @classmethod
    def of(cls, user: User) -> "Actor":
        return cls(user.username, user.id)

    @classmethod
    def command_line(cls) -> "Actor":
        return cls(f"command line ({getpass.getuser()})")


SYSTEM = Actor("system")
RESIDENT = Actor("resident")  # an anonymous resident: nothing more is known, or kept


def record(session: Session, actor: Actor, action: str, subject_type: str, subject_id, *, old: str | None = None,
           new: str | None = None, reason: str | None = None, details: dict | None = None) -> None:
    """Add one event to the session's transaction."""
    record_many(session, actor, action, subject_type, [(str(subject_id), old, new)], reason=reason, details=details)


def record_many(session: Session, actor: Actor, action: str, subject_type: str,
                changes: list[tuple[str, str | None, str | None]], *, reason: str | None = None,
                details: dict | None = None) -> None:
    """One event for each (subject id, old value, new value), all at the same moment and for the same reason."""
    now = datetime.now(UTC)
    encoded = json.dumps(details, ensure_ascii=False, sort_keys=True) if details else None
    rows = [{"at": now, "actor": actor.name, "user_id": actor.user_id, "action": action,
             "subject_type": subject_type, "subject_id": subject_id, "old_value": old, "new_value": new,
             "reason": reason, "details": encoded} for subject_id, old, new in changes]
    insert_rows(session, AuditEvent, rows)


def history(session: Session, subject_type: str, subject_id: str, limit: int = 500) -> list[AuditEvent]:
    """A subject's events, oldest first."""
    return list(session.scalars(
        select(AuditEvent).where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id)
        .order_by(AuditEvent.id).limit(limit)))


def recent(session: Session, limit: int = 100) -> list[AuditEvent]:
    """The latest events, newest first."""
    return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)))
