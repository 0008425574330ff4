"""Gunicorn settings for `platesvc serve` (gunicorn --config python:platesvc.ops.serving)."""

from prometheus_client import multiprocess


def child_exit(_server, worker) -> None:
    """A worker is gone: its live gauges stop counting (its counters stay in the totals)."""
    multiprocess.mark_process_dead(worker.pid)
