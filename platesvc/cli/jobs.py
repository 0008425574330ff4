"""`platesvc jobs`: imports and print batches started from the staff pages."""

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from platesvc.cli.output import fail_on_domain_error
from platesvc.registry import audit
from platesvc.staff import jobs
from platesvc.store.database import db

jobs_cli = AppGroup("jobs", help="Imports and print batches started from the staff pages.")


@jobs_cli.command("run")
@click.argument("job_id", type=int)
def jobs_run(job_id):
    """Run a queued staff job (the staff pages start this themselves, in the background), its memory capped at
    PLATESVC_JOB_MEMORY_MB."""
    cap = jobs.limit_memory(current_app.config)
    click.echo(f"job {job_id}: " + (f"memory capped at {cap // 2 ** 20} MiB" if cap else "memory not capped"))
    job = fail_on_domain_error(lambda: jobs.run(db.session, current_app.config, job_id))
    for line in jobs.summary_of(job).get("lines", []):
        click.echo(line)
    click.echo(f"job {job.id}: {job.status}" + (f": {job.error}" if job.error else ""))
    if job.error:
        sys.exit(1)


@jobs_cli.command("list")
def jobs_list():
    """The latest staff jobs and how they went (a job whose runner died is ended as failed first)."""
    jobs.reap(db.session, current_app.config)
    for job in jobs.recent(db.session):
        click.echo(f"#{job.id:<5} {job.kind:7} {job.status:10} {job.created_by.username:16} "
                   f"{job.created_at:%Y-%m-%d %H:%M}" + (f"  {job.error}" if job.error else ""))


@jobs_cli.command("cancel")
@click.argument("job_id", type=int)
def jobs_cancel(job_id):
    """Cancel a staff job: a queued one at once, a running one at its next step."""
    job = fail_on_domain_error(lambda: jobs.find(db.session, job_id))
    fail_on_domain_error(lambda: jobs.cancel(db.session, audit.Actor.command_line(), job))
    db.session.commit()
    click.echo(f"job {job.id}: {job.status}" if job.status == "cancelled" else f"job {job.id}: cancelling")
