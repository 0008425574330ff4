"""`platesvc db`: create, migrate and inspect the database schema; back it up and restore it."""

import click
from flask import current_app
from flask.cli import AppGroup

from platesvc.cli.output import fail_on_domain_error
from platesvc.store import backups, migrations
from platesvc.store.database import db

db_cli = AppGroup("db", help="Create or migrate the database schema; back it up and restore it.")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision):
    """Bring the database schema up to REVISION (default: the latest)."""
    before = migrations.current_revision(db.engine)
    migrations.upgrade(db.engine, revision)
    after = migrations.current_revision(db.engine)
    click.echo(f"database schema: {before or 'empty'} → {after}" if before != after
               else f"database schema already at {after}")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision):
    """Take the database schema back to REVISION ('base' removes every table)."""
    migrations.downgrade(db.engine, revision)
    click.echo(f"database schema now at {migrations.current_revision(db.engine) or 'base (empty)'}")


@db_cli.command("current")
def db_current():
    """Show the schema revision of the database and the latest one available."""
    click.echo(f"database: {migrations.current_revision(db.engine) or 'empty'}; latest: {migrations.head_revision()}")


@db_cli.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
def db_backup(file):
    """Write a backup of the whole database to FILE, while it is in use (SQLite: a copy; PostGIS: pg_dump's
    custom format)."""
    written = fail_on_domain_error(lambda: backups.backup(db.engine, file))
    click.echo(f"backup written to {written} ({written.stat().st_size / 2 ** 20:.1f} MiB)")


@db_cli.command("restore")
@click.argument("file", type=click.Path(dir_okay=False))
def db_restore(file):
    """Restore the backup in FILE into the configured database, which must be new and empty."""
    db.engine.dispose()  # no connection of ours stands in the way
    fail_on_domain_error(lambda: backups.restore(current_app.config["DATABASE_URL"], file))
    click.echo(f"restored {file}; the schema is at {migrations.current_revision(db.engine)}")
