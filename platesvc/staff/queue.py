"""The queue staff jobs wait in: huey, its store a SQLite file beside the jobs by default (every process
of one machine shares it) or Redis (PLATESVC_QUEUE_URL=redis://…, for servers on several machines).

The consumer is `platesvc worker`, which `platesvc serve` starts beside its web workers. Its threads
take a job off the queue and hand it to the job's own function, which runs it in a process of its own;
once a minute it also ends the jobs whose runner is gone, so nothing waits on a page being opened.
A job stays queued while no consumer runs, and is taken when one starts.
"""

import logging
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
        initial, most = POLL_SECONDS
        consumer = self.huey.create_consumer(workers=threads, worker_type="thread", periodic=True,
                                             initial_delay=initial, max_delay=most, backoff=1.5)
        log.info("job worker taking jobs from %s", self.where)
        consumer.run()

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
