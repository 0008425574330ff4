"""Scan counts per plate per local day; nothing about who scanned is kept anywhere.

Staff read the counts to find plates that are never scanned (missing, unreadable).
A scan adds to a tally in memory, and a background thread writes the tally every
`flush_seconds` (and at exit), so no resident waits on a write, even while an import
holds SQLite's write lock. A crash loses at most that many seconds of counts.
With `flush_seconds` 0 each scan is written at once (tests).
"""

import atexit
import logging
import os
import threading
import time
from collections import Counter
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from platesvc.ops.metrics import process_metrics
from platesvc.store.models import Plate, PlateScan, PlateStatus

log = logging.getLogger(__name__)
UPSERT_ROWS = 1000  # three parameters a row


class ScanCounter:
    def __init__(self, engine: Engine, timezone: str, flush_seconds: float):
        self._engine = engine
        self._zone = ZoneInfo(timezone)
        self._flush_seconds = flush_seconds
        self._pending: Counter[tuple[str, date]] = Counter()
        self._lock = threading.Lock()
        self._writer: threading.Thread | None = None
        self._writer_pid: int | None = None
        self._counted = process_metrics().scans
        atexit.register(self.flush)

    def record(self, plate_id: str) -> None:
        """Count one scan of a plate today (local time)."""
        today = datetime.now(self._zone).date()
        self._counted.inc()
        with self._lock:
            self._pending[(plate_id, today)] += 1
        if self._flush_seconds <= 0:
            self.flush()
        elif self._writer_pid != os.getpid():  # first scan in this (possibly forked) worker
            self._writer_pid = os.getpid()
            self._writer = threading.Thread(target=self._write_periodically, name="scan-counts", daemon=True)
            self._writer.start()

    def _write_periodically(self) -> None:
        while True:
            time.sleep(self._flush_seconds)
            self.flush()

    def flush(self) -> None:
        """Write the tally; if the database cannot take it, keep it for the next try."""
        with self._lock:
            pending, self._pending = self._pending, Counter()
        if not pending:
            return
        try:
            with self._engine.begin() as connection:
                # Sorted, so two workers take row locks in the same order; chunked, under every
                # driver's parameter limit however long the database was away.
                items = sorted(pending.items())
                for start in range(0, len(items), UPSERT_ROWS):
                    connection.execute(_upsert(self._engine.dialect.name, items[start:start + UPSERT_ROWS]))
        except SQLAlchemyError:
            log.exception("could not store %d scan counts; keeping them for the next flush", len(pending))
            with self._lock:
                self._pending.update(pending)


def _upsert(dialect: str, items: list[tuple[tuple[str, date], int]]):
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(PlateScan).values(
        [{"plate_id": plate_id, "day": day, "count": count} for (plate_id, day), count in items])
    return statement.on_conflict_do_update(
        index_elements=[PlateScan.plate_id, PlateScan.day],
        set_={"count": PlateScan.count + statement.excluded.count})


def scans_by_day(connection, plate_id: str) -> dict[date, int]:
    """A plate's stored scan counts, by local day."""
    rows = connection.execute(
        select(PlateScan.day, PlateScan.count).where(PlateScan.plate_id == plate_id).order_by(PlateScan.day))
    return dict(rows.all())


def daily_totals(connection, since: date) -> dict[date, int]:
    """Scans of all plates together, by local day, from `since` on."""
    rows = connection.execute(select(PlateScan.day, func.sum(PlateScan.count)).where(PlateScan.day >= since)
                              .group_by(PlateScan.day).order_by(PlateScan.day))
    return {day: int(total) for day, total in rows.all()}


def quiet_plates(connection, since: date) -> list[str]:
    """Installed plates no one has scanned since `since`: perhaps missing, damaged or unreadable."""
    scanned = select(PlateScan.plate_id).where(PlateScan.day >= since)
    query = select(Plate.id).where(Plate.status == PlateStatus.INSTALLED, Plate.id.not_in(scanned)).order_by(Plate.id)
    return list(connection.execute(query).scalars())
