"""`platesvc serve`: the service under gunicorn, with its job worker; `platesvc worker`: that worker alone."""

import os
import shutil
import sys

import click
from flask import current_app

from platesvc.ops.serving import JOB_WORKER_VARIABLE
from platesvc.staff import jobs


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--workers", default=(os.cpu_count() or 1) * 2 + 1, show_default="2 × cores + 1")
@click.option("--job-worker/--no-job-worker", default=True, show_default=True,
              help="Also run the staff jobs' worker (`platesvc worker`), started and stopped with the server.")
def serve(host, port, workers, job_worker):
    """Serve the app with gunicorn (the production server)."""
    gunicorn = shutil.which("gunicorn") or os.path.join(os.path.dirname(sys.executable), "gunicorn")
    # The workers' metrics meet in files here; a fresh folder, so a restart counts from zero.
    metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.path.join(current_app.instance_path, "metrics")
    shutil.rmtree(metrics_dir, ignore_errors=True)
    os.makedirs(metrics_dir)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    os.environ["PLATESVC_SERVER_WORKERS"] = str(workers)  # each counts its share of an in-memory rate limit
    os.environ[JOB_WORKER_VARIABLE] = "1" if job_worker else "0"
    click.echo(f"serving on http://{host}:{port}/ with {workers} workers" + (" and a job worker" * job_worker))
    # No gunicorn access log: the app writes one line a request itself, with its request id
    # and without the client's address.
    os.execv(gunicorn, [gunicorn, "--bind", f"{host}:{port}", "--workers", str(workers),
                        "--config", "python:platesvc.ops.serving", "platesvc:create_app()"])


@click.command("worker")
@click.option("--threads", default=2, show_default=True, help="Jobs run at once (one import and one print).")
def worker(threads):
    """Run the staff jobs' worker: imports and print batches as staff start them. Stopping it stops no job
    already running: each runs in a process of its own and ends itself."""
    app = current_app._get_current_object()
    jobs.job_queue(app.config).consume(app, threads)
