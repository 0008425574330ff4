"""Where public reads go: a healthy streaming replica of the PostGIS primary, else the primary.

Residents' scans, nearby and the map APIs only read, and are most of the traffic: with
`PLATESVC_DATABASE_REPLICA_URLS` they go to the replicas in turn. Writes, the staff side
and any request that carries a staff session read the primary, so staff always see their
own changes. Each worker asks a replica how far behind it is at most every
REPLICA_CHECK_SECONDS; one that cannot be reached, or lags past REPLICA_MAX_LAG_SECONDS,
is skipped (with a log line on each change and a metric) until it answers and has caught
up. A read that fails on a replica (it went down mid-request) runs again on the primary,
so a replica can stop at any moment without a reader seeing an error.
"""

import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from platesvc.ops.metrics import process_metrics

log = logging.getLogger(__name__)
Result = TypeVar("Result")

# Seconds behind the primary: none when it has replayed all it received and still streams;
# otherwise since the last transaction it replayed was committed (an upper bound).
LAG = text("""
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
         AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') THEN 0
    ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 'Infinity')
END
""")


_NOT_CHECKED = "not checked yet"


@dataclass
class Replica:
    name: str  # its URL without the password, for logs and metrics
    engine: Engine
    usable: bool = False
    checked_at: float = float("-inf")
    reason: str = _NOT_CHECKED


class ReadRouter:
    """Picks the engine for each public read and falls back to the primary."""

    def __init__(self, primary: Engine, replicas: list[Engine], max_lag_seconds: float, check_seconds: float):
        self.primary = primary
        self.replicas = [Replica(engine.url.render_as_string(hide_password=True), engine) for engine in replicas]
        self._max_lag = max_lag_seconds
        self._check_every = check_seconds
        self._turn = itertools.count()
        self._lock = threading.Lock()
        self._metrics = process_metrics()

    def run_on(self, work: Callable[[Engine], Result], primary: bool = False) -> Result:
        """`work` given a usable replica's engine; again with the primary's if the replica fails it."""
        replica = None if primary else self._choose()
        if replica is None:
            return work(self.primary)
        try:
            return work(replica.engine)
        except DBAPIError as error:
            self._set(replica, False, f"a read failed: {type(error.orig).__name__}")
            self._metrics.replica_fallbacks.labels(replica.name, "failed").inc()
            return work(self.primary)

    def _choose(self) -> Replica | None:
        if not self.replicas:
            return None
        start = next(self._turn)
        for offset in range(len(self.replicas)):
            replica = self.replicas[(start + offset) % len(self.replicas)]
            if time.monotonic() - replica.checked_at >= self._check_every:
                self._check(replica)
            if replica.usable:
                return replica
            self._metrics.replica_fallbacks.labels(replica.name, "skipped").inc()
        return None

    def _check(self, replica: Replica) -> None:
        with self._lock:
            if time.monotonic() - replica.checked_at < self._check_every:
                return  # another thread has just checked it
            replica.checked_at = time.monotonic()
        try:
            with replica.engine.connect() as connection:
                lag = float(connection.execute(LAG).scalar())
        except DBAPIError as error:
            self._set(replica, False, f"unreachable: {type(error.orig).__name__}")
            return
        self._metrics.replica_lag.labels(replica.name).set(lag)
        if lag > self._max_lag:
            self._set(replica, False, f"{lag:.1f} s behind the primary (at most {self._max_lag:g} s)")
        else:
            self._set(replica, True, "caught up")

    def _set(self, replica: Replica, usable: bool, reason: str) -> None:
        replica.checked_at = time.monotonic()
        first = replica.reason == _NOT_CHECKED
        if usable != replica.usable or (first and not usable):
            if usable:
                log.info("public reads go to replica %s%s", replica.name, "" if first else " again")
            else:
                log.warning("replica %s skipped, reads go to the primary: %s", replica.name, reason)
        replica.usable, replica.reason = usable, reason
        self._metrics.replica_usable.labels(replica.name).set(int(usable))

    def dispose(self) -> None:
        for replica in self.replicas:
            replica.engine.dispose()


def replica_urls(setting: str) -> list[str]:
    """PLATESVC_DATABASE_REPLICA_URLS: URLs separated by commas (blank: none)."""
    return [url.strip() for url in setting.split(",") if url.strip()]
