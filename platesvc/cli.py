"""The `platesvc` command line (also `flask --app platesvc`)."""

import os
import shutil
import sys
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup

from gis.synthetic import DEFAULT_BUILDINGS, MIN_BUILDINGS
from platesvc import demo, importers, plate_ids, print_batches, schema
from platesvc.database import db
from platesvc.errors import PlatesvcError
from platesvc.printing import PlateStyle

ACCESS_LOG_FORMAT = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'

db_cli = AppGroup("db", help="Create or migrate the database schema.")
demo_cli = AppGroup("demo", help="The synthetic demo city.")
plates_cli = AppGroup("plates", help="Issue plate IDs and print plates.")


def init_app(app: Flask) -> None:
    for group in (db_cli, demo_cli, plates_cli):
        app.cli.add_command(group)
    app.cli.add_command(import_command)
    app.cli.add_command(serve)


def main() -> None:
    from platesvc import create_app

    FlaskGroup(create_app=create_app, add_default_commands=True,
               help="platesvc: QR door plates and civil-affairs services.")(prog_name="platesvc")


def _fail_on_domain_error(action):
    try:
        return action()
    except PlatesvcError as error:
        raise click.ClickException(error.message) from error


def _stage_printer():
    started = time.monotonic()

    def stage(message: str) -> None:
        click.echo(f"[{time.monotonic() - started:6.1f}s] {message}", err=True)

    return stage


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision):
    """Bring the database schema up to REVISION (default: the latest)."""
    before = schema.current_revision(db.engine)
    schema.upgrade(db.engine, revision)
    after = schema.current_revision(db.engine)
    click.echo(f"database schema: {before or 'empty'} → {after}" if before != after
               else f"database schema already at {after}")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision):
    """Take the database schema back to REVISION ('base' removes every table)."""
    schema.downgrade(db.engine, revision)
    click.echo(f"database schema now at {schema.current_revision(db.engine) or 'base (empty)'}")


@db_cli.command("current")
def db_current():
    """Show the schema revision of the database and the latest one available."""
    click.echo(f"database: {schema.current_revision(db.engine) or 'empty'}; latest: {schema.head_revision()}")


@demo_cli.command("seed")
@click.option("--buildings", default=DEFAULT_BUILDINGS, show_default=True, type=click.IntRange(min=MIN_BUILDINGS),
              help="How many buildings to generate.")
@click.option("--seed", default=1, show_default=True, help="Random seed: the same seed gives the same city.")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when the database already has buildings.")
def demo_seed(buildings, seed, if_empty):
    """Fill an empty database with a synthetic Yinchuan: divisions, roads, buildings, beats, services."""
    existing = demo.count_buildings(db.session)
    if existing and if_empty:
        click.echo(f"the database already holds {existing} buildings; nothing seeded")
        return
    with click.progressbar(length=buildings, label="buildings stored", file=sys.stderr) as bar:
        city = _fail_on_domain_error(lambda: demo.seed_demo_city(
            db.session, buildings, seed, stage=_stage_printer(), progress=bar.update))
    click.echo(
        f"seeded the demo city: {len(city.divisions)} divisions, {len(city.roads)} roads, "
        f"{len(city.buildings)} buildings, {len(city.beats)} police beats, "
        f"{len(city.services)} service points, {len(city.culture)} culture notes")
    click.echo("next: `platesvc plates issue` gives every building its plate ID")


@plates_cli.command("issue")
@click.option("--batch-size", default=None, type=click.IntRange(1, 100_000),
              help="Plates per transaction (default from PLATESVC_ISSUE_BATCH_SIZE, 2000).")
def plates_issue(batch_size):
    """Give every active building that has no plate yet a new, permanent plate ID."""
    batch_size = batch_size or current_app.config["ISSUE_BATCH_SIZE"]
    awaiting = sum(plate_ids.buildings_awaiting_plates(db.session).values())
    with click.progressbar(length=awaiting, label="plates issued", file=sys.stderr) as bar:
        report = plate_ids.issue_plates(db.session, batch_size=batch_size, progress=bar.update)
    for prefix, count in sorted(report.issued.items()):
        click.echo(f"  {prefix}: issued {count}")
    for prefix, reason in sorted(report.refused.items()):
        click.echo(f"  {prefix}: not issued: {reason}")
    click.echo(f"issued {report.total} plate IDs" + (f"; {len(report.refused)} division codes refused"
                                                    if report.refused else ""))
    if report.refused:
        sys.exit(1)


def _formats(_ctx, _param, value: str) -> tuple[str, ...]:
    try:
        return print_batches.parse_formats(value)
    except PlatesvcError as error:
        raise click.BadParameter(error.message) from error


@plates_cli.command("print")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for the batch: each run adds a batch folder and its ZIP here, and keeps drawn "
                   "artwork in DIR/.artwork so a rerun or reprint redraws only what changed.")
@click.option("--district", help="Only buildings in this district (6-digit division code, e.g. 640104).")
@click.option("--road", help="Only this road (its Chinese name, e.g. 解放西街).")
@click.option("--community", help="Only this community (its Chinese name).")
@click.option("--status", "statuses", multiple=True, default=["issued"], show_default=True,
              type=click.Choice(print_batches.PRINTABLE_STATUSES),
              help="Only plates with this status; repeat for several (e.g. --status damaged to reprint).")
@click.option("--plate", "plate_ids", multiple=True, metavar="ID",
              help="Only this plate (any spelling of its ID); repeatable. Combine with --status to reprint.")
@click.option("--format", "formats", default=",".join(print_batches.DEFAULT_FORMATS), show_default=True,
              callback=_formats, help=f"What to make, comma-separated, from {','.join(print_batches.FORMATS)}.")
@click.option("--workers", default=os.cpu_count() or 1, show_default="the number of cores",
              type=click.IntRange(1, 64), help="Processes drawing plates side by side.")
@click.option("--sheet", default=None, help="Sheet to tile plates on: A0–A4 or WIDTHxHEIGHT in mm "
                                            "[default: PLATESVC_PRINT_SHEET, A1].")
@click.option("--per-file", default=0, type=click.IntRange(0), help="Plates per PDF [default: one PDF per road].")
@click.option("--size", default=None, help="Plate size WIDTHxHEIGHT in mm [default: PLATESVC_PLATE_SIZE, 300x200].")
@click.option("--ground", default=None, help="Plate colour #RRGGBB [default: PLATESVC_PLATE_GROUND, blue].")
@click.option("--ink", default=None, help="Text colour #RRGGBB [default: PLATESVC_PLATE_INK, white].")
@click.option("--error-correction", type=click.Choice(["Q", "H"], case_sensitive=False), default=None,
              help="QR error correction: Q (25%) or H (30%, a larger symbol) "
                   "[default: PLATESVC_PLATE_ERROR_CORRECTION, Q].")
@click.option("--png-dpi", default=150, show_default=True, type=click.IntRange(50, 1200),
              help="Resolution of PNG artwork.")
def plates_print(out_dir, district, road, community, statuses, plate_ids, formats, workers, sheet, per_file,
                 size, ground, ink, error_correction, png_dpi):
    """Make print-ready plates for the manufacturer, and mark them printed.

    One PDF per road (plates tiled with crop marks, in walking order: odd numbers, then even),
    an SVG per plate, a manifest (CSV and XLSX) of where each plate is, all in one ZIP.
    Plates that cannot be printed are listed with the reason; the others move to `printed`
    together, at the end, with the batch recorded.
    """
    config = current_app.config
    stage = _stage_printer()
    bars = []

    def progress(count: int, total: int) -> None:
        if not bars:
            bars.append(click.progressbar(length=total, label="plates drawn", file=sys.stderr, show_eta=True))
            bars[0].__enter__()
        bars[0].update(count)

    def run():
        style = PlateStyle.parse(size or config["PLATE_SIZE"], ground or config["PLATE_GROUND"],
                                 ink or config["PLATE_INK"], error_correction or config["PLATE_ERROR_CORRECTION"])
        settings = print_batches.PrintSettings(style, sheet or config["PRINT_SHEET"], formats, workers, per_file,
                                               png_dpi)
        selection = print_batches.Selection(district, road, community, tuple(statuses), tuple(plate_ids))
        return print_batches.print_plates(db.session, config, out_dir, selection, settings, progress, stage)

    try:
        report = _fail_on_domain_error(run)
    finally:
        for bar in bars:
            bar.__exit__(None, None, None)
    for plate_id, reason in report.refused:
        click.echo(f"  not printed {plate_ids.parse_plate_id(plate_id).display}: {reason}")
    click.echo(f"printed {report.printed} plates in {report.files} files as batch {report.batch_name} "
               f"({report.encoded} drawn now, {report.reused} reused from earlier runs)"
               + (f"; {len(report.refused)} not printed, listed above" if report.refused else ""))
    click.echo(f"  folder: {report.folder}")
    click.echo(f"  for the manufacturer: {report.archive}")
    click.echo(f"their status is now printed (batch #{report.batch_id})")


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
@click.option("--report", "report_path", type=click.Path(dir_okay=False),
              help="Where to write the CSV of refused and repaired rows [default: beside the file].")
def import_command(kind, path, layer, crs, encoding, fields, dry_run, retire_missing, report_path):
    """Import KIND (divisions, roads, buildings, services, beats, culture) from PATH.

    Shapefile, GeoPackage, GeoJSON, or CSV/XLSX with longitude/latitude (经度/纬度) or WKT
    columns. Rows are matched by source_id, so re-importing updates in place and plate IDs
    never change. Everything is one transaction: all of it or, on an error, nothing.
    """
    stage = _stage_printer()
    stage(f"reading {path}")
    bars = []

    def progress(count: int, total: int) -> None:
        if not bars:
            bars.append(click.progressbar(length=total, label=f"storing new {kind}", file=sys.stderr))
            bars[0].__enter__()
        bars[0].update(count)

    try:
        report = _fail_on_domain_error(lambda: importers.import_file(
            db.session, kind, path, layer=layer, crs=crs, encoding=encoding, fields=fields, dry_run=dry_run,
            retire_missing=retire_missing, progress=progress, stage=stage))
    finally:
        for bar in bars:
            bar.__exit__(None, None, None)
    report_path = Path(report_path) if report_path else Path(path).with_name(Path(path).stem + ".report.csv")
    report.write_csv(report_path)
    for note in report.notes:
        click.echo(f"note: {note}")
    click.echo(f"{kind} in {path}: read {report.read} = imported {report.imported} + updated {report.updated} "
               f"+ refused {report.refused}")
    if report.unchanged:
        click.echo(f"  {report.unchanged} of the updated had no changes")
    repaired = sum(1 for note in report.rows if note.action == "repaired")
    if repaired:
        click.echo(f"  {repaired} geometries were invalid and have been repaired")
    for note in sorted((n for n in report.rows if n.action == "refused"), key=lambda n: n.row)[:20]:
        click.echo(f"  refused row {note.row}{f' ({note.source_id})' if note.source_id else ''}: {note.reason}")
    if report.refused > 20:
        click.echo(f"  … and {report.refused - 20} more refused rows")
    if report.missing:
        verb = ("retired" if report.retired else "not in this file (--retire-missing retires them)"
                if kind == "buildings" else "not in this file (left as they are)")
        click.echo(f"  {len(report.missing)} stored {kind} {verb}")
    if kind == "buildings" and report.awaiting_plates:
        click.echo(f"  {report.awaiting_plates} buildings await plate IDs: run `platesvc plates issue`")
    click.echo(f"every refused or repaired row, with its reason: {report_path}")
    click.echo("dry run: nothing was written" if dry_run else "done: committed")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--workers", default=(os.cpu_count() or 1) * 2 + 1, show_default="2 × cores + 1")
def serve(host, port, workers):
    """Serve the app with gunicorn (the production server)."""
    gunicorn = shutil.which("gunicorn") or os.path.join(os.path.dirname(sys.executable), "gunicorn")
    click.echo(f"serving on http://{host}:{port}/ with {workers} workers")
    # The access log leaves out the client address: with a plate's path and the time it
    # would say who was at which door.
    os.execv(gunicorn, [gunicorn, "--bind", f"{host}:{port}", "--workers", str(workers),
                        "--access-logfile", "-", "--access-logformat", ACCESS_LOG_FORMAT,
                        "platesvc:create_app()"])
