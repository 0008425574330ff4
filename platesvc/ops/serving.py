"""Gunicorn settings for `platesvc serve` (gunicorn --config python:platesvc.ops.serving).

Workers are gevent's: a connection waiting on its client costs a greenlet, not the worker, so a few
slow clients cannot take the service offline as they did a sync worker. A request's head must arrive
whole within `keepalive` seconds (gunicorn's deadline for the next request on a connection), and a
body read that waits CLIENT_IDLE_SECONDS for a byte ends the connection. Psycopg 3 waits
cooperatively under gevent; SQLite's calls are short and run in place, and a worker's writers take turns
on a lock gevent can wait on (store/database.py). The reverse proxy in front
(README "Production") buffers as well; these hold without it.

The master also starts the staff jobs' worker (`platesvc worker`) when `platesvc serve` asks, starts it
again whenever it ends while the server runs (killed, crashed: after a pause that grows, up to
RESTART_MOST_SECONDS, while it keeps dying at once), and stops it on the way out; should the master die
without a word, Linux stops it too.
"""

import os
import signal
import subprocess
import sys
import threading
import time

from gunicorn.workers.base_async import AsyncWorker
from gunicorn.workers.ggevent import GeventWorker
from prometheus_client import multiprocess

from platesvc.ops.processes import die_with_parent

CLIENT_IDLE_SECONDS = 10
JOB_WORKER_VARIABLE = "PLATESVC_SERVE_JOB_WORKER"
_job_worker: list[subprocess.Popen] = []

worker_class = "platesvc.ops.serving.PatientWorker"
worker_connections = 1000  # per worker; beyond it a connection waits in the listen queue
keepalive = 5


class PatientWorker(GeventWorker):
    """gevent's worker whose connections time out when their client stops sending."""

    def handle(self, listener, client, addr):
        client.settimeout(CLIENT_IDLE_SECONDS)  # GeventWorker would make it block for ever
        AsyncWorker.handle(self, listener, client, addr)


def post_worker_init(worker) -> None:
    """A new worker has loaded the app: warm it before it takes a request, with the warm-up the web layer keeps
    in the app's extensions (its templates, the reference data)."""
    warm_up = getattr(worker.wsgi, "extensions", {}).get("platesvc.warm_up")
    if warm_up is not None:
        warm_up()


def child_exit(_server, worker) -> None:
    """A worker is gone: its live gauges stop counting (its counters stay in the totals)."""
    multiprocess.mark_process_dead(worker.pid)


RESTART_FIRST_SECONDS, RESTART_MOST_SECONDS = 1, 60
_stopping = threading.Event()


def _start_job_worker() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "platesvc", "worker"], stdin=subprocess.DEVNULL,
                            preexec_fn=lambda: die_with_parent(signal.SIGTERM))


def _supervise(server) -> None:
    """Start the job worker again each time it ends while the server runs."""
    pause = RESTART_FIRST_SECONDS
    while not _stopping.is_set():
        started = time.monotonic()
        while _job_worker[0].poll() is None and not _stopping.wait(0.5):
            pass  # polled: gunicorn's master collects every child that ends, ours too
        if _stopping.is_set():
            return
        pause = RESTART_FIRST_SECONDS if time.monotonic() - started > RESTART_MOST_SECONDS else \
            min(pause * 2, RESTART_MOST_SECONDS)
        server.log.warning("The job worker (pid %s) ended; starting it again in %s s", _job_worker[0].pid, pause)
        if _stopping.wait(pause):
            return
        _job_worker[0] = _start_job_worker()
        server.log.info("Started the job worker again (pid %s)", _job_worker[0].pid)


def on_starting(server) -> None:
    if os.environ.get(JOB_WORKER_VARIABLE) == "1":
        _job_worker.append(_start_job_worker())
        server.log.info("Started the job worker (pid %s)", _job_worker[0].pid)
        threading.Thread(target=_supervise, args=(server,), name="job-worker-supervisor", daemon=True).start()


def on_exit(_server) -> None:
    _stopping.set()
    for worker in _job_worker:
        worker.terminate()
        try:
            worker.wait(10)
        except subprocess.TimeoutExpired:
            worker.kill()
