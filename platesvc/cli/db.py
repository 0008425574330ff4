"""`platesvc db`: create, migrate and inspect the database schema."""

import click
from flask.cli import AppGroup

from platesvc.store import migrations
from platesvc.store.database import db

db_cli = AppGroup("db", help="Create or migrate the database schema.")


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
