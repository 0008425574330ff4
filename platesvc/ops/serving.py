"""Gunicorn settings for `platesvc serve` (gunicorn --config python:platesvc.ops.serving).

Workers are gevent's: a connection waiting on its client costs a greenlet, not the worker, so a few
slow clients cannot take the service offline as they did a sync worker. A request's head must arrive
whole within `keepalive` seconds (gunicorn's deadline for the next request on a connection), and a
body read that waits CLIENT_IDLE_SECONDS for a byte ends the connection. Psycopg 3 waits
cooperatively under gevent; SQLite's calls are short and run in place. The reverse proxy in front
(README "Production") buffers as well; these hold without it.

The master also starts the staff jobs' worker (`platesvc worker`) when `platesvc serve` asks, and stops
it on the way out; should the master die without a word, Linux stops it too.
"""

import os
import signal
import subprocess
import sys

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
    """A new worker has loaded the app: warm it before it takes a request (its templates, the reference data)."""
    from flask import Flask

    from platesvc.web import warm_up
    if isinstance(worker.wsgi, Flask) and "platesvc" in worker.wsgi.extensions:
        warm_up(worker.wsgi)


def child_exit(_server, worker) -> None:
    """A worker is gone: its live gauges stop counting (its counters stay in the totals)."""
    multiprocess.mark_process_dead(worker.pid)


def on_starting(server) -> None:
    if os.environ.get(JOB_WORKER_VARIABLE) == "1":
        _job_worker.append(subprocess.Popen([sys.executable, "-m", "platesvc", "worker"], stdin=subprocess.DEVNULL,
                                            preexec_fn=lambda: die_with_parent(signal.SIGTERM)))
        server.log.info("Started the job worker (pid %s)", _job_worker[0].pid)


def on_exit(_server) -> None:
    for worker in _job_worker:
        worker.terminate()
        try:
            worker.wait(10)
        except subprocess.TimeoutExpired:
            worker.kill()
