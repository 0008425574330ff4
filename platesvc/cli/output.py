"""How commands speak: a domain error as a command-line error, and timed stages on standard error."""

import time

import click

from platesvc.errors import PlatesvcError


def fail_on_domain_error(action):
    try:
        return action()
    except PlatesvcError as error:
        raise click.ClickException(error.message) from error


def stage_printer():
    started = time.monotonic()

    def stage(message: str) -> None:
        click.echo(f"[{time.monotonic() - started:6.1f}s] {message}", err=True)

    return stage
