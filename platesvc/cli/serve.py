"""`platesvc serve`: the service under gunicorn."""

import os
import shutil
import sys

import click
from flask import current_app


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--workers", default=(os.cpu_count() or 1) * 2 + 1, show_default="2 × cores + 1")
def serve(host, port, workers):
    """Serve the app with gunicorn (the production server)."""
    gunicorn = shutil.which("gunicorn") or os.path.join(os.path.dirname(sys.executable), "gunicorn")
    # The workers' metrics meet in files here; a fresh folder, so a restart counts from zero.
    metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.path.join(current_app.instance_path, "metrics")
    shutil.rmtree(metrics_dir, ignore_errors=True)
    os.makedirs(metrics_dir)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    os.environ["PLATESVC_SERVER_WORKERS"] = str(workers)  # each counts its share of an in-memory rate limit
    click.echo(f"serving on http://{host}:{port}/ with {workers} workers")
    # No gunicorn access log: the app writes one line a request itself, with its request id
    # and without the client's address.
    os.execv(gunicorn, [gunicorn, "--bind", f"{host}:{port}", "--workers", str(workers),
                        "--config", "python:platesvc.ops.serving", "platesvc:create_app()"])
