"""`platesvc geocode`: the plate of every address in a list."""

from pathlib import Path

import click
from flask import current_app

from platesvc.cli.output import fail_on_domain_error
from platesvc.search.batch import geocode_file, geocoded_rows
from platesvc.spreadsheets import write_rows
from platesvc.store.database import db

MAX_ROWS = 1_000_000


@click.command("geocode")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", type=click.Path(dir_okay=False),
              help="Where to write the list geocoded (.csv or .xlsx); beside it, named …-geocoded, by default.")
def geocode_command(path, out):
    """Find the plate of every address in a CSV or XLSX list (the column headed 地址 or address, else the first).

    Writes the list again with each row's plate ID, standard address, score and coordinates, and for a row
    left unmatched (or matched loosely), why.
    """
    config = current_app.config
    result = fail_on_domain_error(lambda: geocode_file(db.session, config, path, MAX_ROWS))
    given = Path(path)
    suffix = ".xlsx" if given.suffix.lower() == ".xlsx" else ".csv"
    out = Path(out) if out else given.with_name(f"{given.stem}-geocoded{suffix}")
    with open(out, "wb") as written:
        write_rows(geocoded_rows(result, config), written, "xlsx" if out.suffix.lower() == ".xlsx" else "csv")
    for item in result.rows:
        if item.found is None:
            click.echo(f"  row {item.row}: {item.why.english()}")
    click.echo(result.summary().english())
    click.echo(f"written to {out}")
