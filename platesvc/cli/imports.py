"""`platesvc import KIND PATH`: the files staff hand over, checked row by row."""

import sys
from pathlib import Path

import click

from platesvc import spreadsheets
from platesvc.cli.output import fail_on_domain_error, stage_printer
from platesvc.intake import importers
from platesvc.messages import Message
from platesvc.registry import audit
from platesvc.store.database import db


def _field_mapping(_ctx, _param, values) -> dict[str, str]:
    mapping = {}
    for value in values:
        name, sep, column = value.partition("=")
        if not sep or not name or not column:
            raise click.BadParameter(f"{value!r}: write CANONICAL=COLUMN, e.g. number=门牌号")
        mapping[name.strip()] = column.strip()
    return mapping


@click.command("import")
@click.argument("kind", type=click.Choice(importers.KINDS))
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--layer", help="The layer to read from a GeoPackage (or a sheet of an XLSX file).")
@click.option("--crs", help="What the coordinates are when the file does not say (or says wrongly): an EPSG "
                            "code such as 4544, or GCJ02 / BD09 for points taken from Chinese map apps.")
@click.option("--encoding", help="Text encoding, e.g. GBK, when it is neither given by a .cpg nor detected.")
@click.option("--field", "fields", multiple=True, callback=_field_mapping, metavar="CANONICAL=COLUMN",
              help="Which column holds a field, e.g. --field number=MPH. Repeatable.")
@click.option("--dry-run", is_flag=True, help="Check and report everything, write nothing.")
@click.option("--retire-missing", is_flag=True,
              help="Retire stored buildings this file no longer has (give only a complete file). "
                   "Their plate IDs stay reserved.")
@click.option("--create-roads", is_flag=True,
              help="Create the roads a buildings file names that the registry lacks (each along its buildings, "
                   "until a roads file gives its line); without it, their rows are refused.")
@click.option("--refused", "refusals_path", type=click.Path(dir_okay=False),
              help="Where to write the CSV of refused, repaired and noted rows, then the stored records the file "
                   "lacks [default: beside the file].")
def import_command(kind, path, layer, crs, encoding, fields, dry_run, retire_missing, create_roads, refusals_path):
    """Import KIND (divisions, roads, buildings, services, beats, culture) from PATH.

    Shapefile, GeoPackage, GeoJSON, or CSV/XLSX with longitude/latitude (经度/纬度) or WKT
    columns. Rows are matched by source_id, so re-importing updates in place and plate IDs
    never change. Everything is one transaction: all of it or, on an error, nothing.
    """
    stage = stage_printer()
    stage(Message("Reading %(file)s", file=path))
    bars = []

    def progress(count: int, total: int) -> None:
        if not bars:
            bars.append(click.progressbar(length=total, label=f"storing new {kind}", file=sys.stderr))
            bars[0].__enter__()
        bars[0].update(count)

    try:
        result = fail_on_domain_error(lambda: importers.import_file(
            db.session, kind, path, layer=layer, crs=crs, encoding=encoding, fields=fields, dry_run=dry_run,
            retire_missing=retire_missing, create_roads=create_roads, progress=progress, stage=stage,
            actor=audit.Actor.command_line()))
    finally:
        for bar in bars:
            bar.__exit__(None, None, None)
    refusals_path = Path(refusals_path) if refusals_path else Path(path).with_name(Path(path).stem + ".refused.csv")
    with open(refusals_path, "wb") as out:
        spreadsheets.write_rows(spreadsheets.note_rows([*sorted(result.rows, key=lambda note: note.row),
                                                        *result.absent()]), out, "csv")
    for line in result.summary():
        click.echo(line)
    click.echo(f"every refused, repaired or noted row, with its reason: {refusals_path}")
