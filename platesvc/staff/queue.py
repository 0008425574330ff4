"""The queue staff jobs wait in: huey, its store a SQLite file beside the jobs by default (every process
of one machine shares it) or Redis (PLATESVC_QUEUE_URL=redis://…, for servers on several machines).

The consumer is `platesvc worker`, which `platesvc serve` starts beside its web workers. Its threads
take a job off the queue and hand it to the job's own function, which runs it in a process of its own;
once a minute it also ends the jobs whose runner is gone, so nothing waits on a page being opened.
A job stays queued while no consumer runs, and is taken when one starts.

huey's consumer replaces a thread of its own that has died (its worker health check, every
HEALTH_CHECK_SECONDS), and `platesvc serve` starts the consumer again should the whole process die
(ops/serving.py). Every HEARTBEAT_SECONDS the consumer writes how it is (`worker.json` in the jobs
folder: its process, and whether each of its threads is alive), which /readyz reports.
"""

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from flask import Flask
from huey import Huey, RedisHuey, SqliteHuey, crontab
from sqlalchemy.orm import Session

from platesvc.store.database import db

log = logging.getLogger(__name__)
NAME = "platesvc-jobs"
FILE = "queue.sqlite3"
CONSUMER_THREADS = 2  # an import and a print at once (jobs allow one of each kind)
POLL_SECONDS = (0.1, 1.0)  # SQLite is polled: from this often when busy to this often when idle
HEALTH_CHECK_SECONDS = 5  # how often huey's consumer looks for a dead thread of its own, and replaces it
HEARTBEAT_SECONDS = 2
HEARTBEAT_FILE = "worker.json"
SILENT_SECONDS = 15  # a consumer that has not written its heartbeat for this long is taken for gone

JobFunction = Callable[[Session, Mapping, int], object]
SweepFunction = Callable[[Session, Mapping], object]


def location(config: Mapping) -> str:
    """Where the queue is kept: the configured Redis URL, or the file in the jobs folder."""
    return config["QUEUE_URL"] or str(Path(config["JOBS_DIR"]) / FILE)


def _store(where: str) -> Huey:
    if where.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(NAME, url=where)  # a blocking pop: no polling
    Path(where).parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(NAME, filename=where)


class JobQueue:
    """Staff jobs by id: put on the queue by the web workers, run by the consumer in its app."""

    def __init__(self, where: str, run: JobFunction, sweep: SweepFunction):
        self.where = where
        self.huey = _store(where)
        self._app: Flask | None = None
        self._run, self._sweep = run, sweep
        self._task = self.huey.task(name="run_job")(self._run_job)
        self.huey.periodic_task(crontab(minute="*"), name="sweep_jobs")(self._sweep_jobs)

    def submit(self, job_id: int) -> None:
        self._task(job_id)

    def consume(self, app: Flask, threads: int = CONSUMER_THREADS) -> None:
        """Run jobs as they come, until a signal stops the consumer (SIGINT after the running jobs, SIGTERM now)."""
        self._app = app
        consumer = self.consumer(threads)
        log.info("job worker taking jobs from %s", self.where)
        beat = threading.Thread(target=_beat, args=(consumer, heartbeat_path(app.config)), name="job-worker-heartbeat",
                                daemon=True)
        beat.start()
        consumer.run()

    def consumer(self, threads: int = CONSUMER_THREADS):
        """huey's consumer, its threads watched (and a dead one replaced) every HEALTH_CHECK_SECONDS."""
        initial, most = POLL_SECONDS
        return self.huey.create_consumer(workers=threads, worker_type="thread", periodic=True,
                                         initial_delay=initial, max_delay=most, backoff=1.5,
                                         check_worker_health=True, health_check_interval=HEALTH_CHECK_SECONDS)

    def _run_job(self, job_id: int) -> None:
        self._in_app(self._run, job_id)

    def _sweep_jobs(self) -> None:
        self._in_app(self._sweep)

    def _in_app(self, function, *args) -> None:
        with self._app.app_context():
            try:
                function(db.session, self._app.config, *args)
            finally:
                db.session.remove()


def heartbeat_path(config: Mapping) -> Path:
    return Path(config["JOBS_DIR"]) / HEARTBEAT_FILE


def consumer_state(consumer) -> dict:
    """How a consumer is: its process, and how many of its threads (workers and scheduler) are alive."""
    threads = [thread for _, thread in consumer.worker_threads] + [consumer.scheduler]
    return {"pid": os.getpid(), "host": socket.gethostname(), "updated": time.time(),
            "threads": len(threads), "alive": sum(thread.is_alive() for thread in threads)}


def _beat(consumer, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text(json.dumps(consumer_state(consumer)))
        os.replace(partial, path)
        time.sleep(HEARTBEAT_SECONDS)


def worker_status(config: Mapping) -> str:
    """The job worker as its last heartbeat tells it: "ok", "degraded" (a thread dead, not yet replaced),
    or "down" (no heartbeat, a stale one, or its process gone)."""
    try:
        state = json.loads(heartbeat_path(config).read_text())
    except (OSError, ValueError):
        return "down"
    if time.time() - state.get("updated", 0) > SILENT_SECONDS:
        return "down"
    if state.get("host") == socket.gethostname() and not _alive(state.get("pid", 0)):
        return "down"
    return "ok" if state.get("alive") == state.get("threads") else "degraded"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (killed, not yet collected) is no worker
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
