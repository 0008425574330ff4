"""Scan counts per plate per local day; nothing about who scanned is kept anywhere.

Staff read the counts to find plates that are never scanned (missing, unreadable).
A scan adds to a tally in memory; the tally reaches the database as one upsert once
it is `flush_seconds` old (and when the process exits), so a scan costs no write of
its own. A crash loses at most that many seconds of counts and nothing else.
"""

import atexit
import logging
import threading
import time
from collections import Counter
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from platesvc.database import db
from platesvc.models import PlateScan

log = logging.getLogger(__name__)


class ScanCounter:
    def __init__(self, engine: Engine, timezone: str, flush_seconds: float):
        self._engine = engine
        self._zone = ZoneInfo(timezone)
        self._flush_seconds = flush_seconds
        self._pending: Counter[tuple[str, date]] = Counter()
        self._oldest: float | None = None
        self._lock = threading.Lock()
        atexit.register(self.flush)

    def record(self, plate_id: str) -> None:
        """Count one scan of a plate today (local time)."""
        today = datetime.now(self._zone).date()
        with self._lock:
            self._pending[(plate_id, today)] += 1
            if self._oldest is None:
                self._oldest = time.monotonic()
            due = time.monotonic() - self._oldest >= self._flush_seconds
        if due:
            self.flush()

    def flush(self) -> None:
        """Write the tally; if the database cannot take it, keep it for the next try."""
        with self._lock:
            pending, self._pending, self._oldest = self._pending, Counter(), None
        if not pending:
            return
        try:
            with self._engine.begin() as connection:
                connection.execute(_upsert(self._engine.dialect.name, pending))
        except SQLAlchemyError:
            log.exception("could not store %d scan counts; keeping them for the next flush", len(pending))
            with self._lock:
                self._pending.update(pending)
                self._oldest = self._oldest or time.monotonic()


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    app.extensions["platesvc_scans"] = ScanCounter(engine, app.config["TIMEZONE"], app.config["SCAN_FLUSH_SECONDS"])


def _upsert(dialect: str, pending: Counter):
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(PlateScan).values(
        [{"plate_id": plate_id, "day": day, "count": count} for (plate_id, day), count in pending.items()])
    return statement.on_conflict_do_update(
        index_elements=[PlateScan.plate_id, PlateScan.day],
        set_={"count": PlateScan.count + statement.excluded.count})


def scans_by_day(connection, plate_id: str) -> dict[date, int]:
    """A plate's stored scan counts, by local day."""
    rows = connection.execute(
        select(PlateScan.day, PlateScan.count).where(PlateScan.plate_id == plate_id).order_by(PlateScan.day))
    return dict(rows.all())
