"""The `platesvc` command line (also `flask --app platesvc`): a module per command group."""

from flask import Flask
from flask.cli import FlaskGroup

from platesvc.cli import db, demo, imports, jobs, plates, search, serve, streets, users


def init_app(app: Flask) -> None:
    for command in (db.db_cli, demo.demo_cli, plates.plates_cli, users.users_cli, users.tokens_cli, jobs.jobs_cli,
                    imports.import_command, search.geocode_command, serve.serve, serve.worker,
                    streets.streets_cli):
        app.cli.add_command(command)


def main() -> None:
    from platesvc import create_app

    FlaskGroup(create_app=lambda: create_app({"COMMAND_LINE": True}), add_default_commands=True,
               help="platesvc: QR door plates and civil-affairs services.")(prog_name="platesvc")
