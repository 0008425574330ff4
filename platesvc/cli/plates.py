"""`platesvc plates`: issue plate IDs, print plates, and follow each plate's life."""

import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from platesvc.cli.output import fail_on_domain_error, stage_printer
from platesvc.errors import PlatesvcError
from platesvc.printing import batches
from platesvc.printing.artwork import PlateStyle
from platesvc.registry import audit, lifecycle, plate_ids
from platesvc.store.database import db
from platesvc.store.models import PlateStatus

plates_cli = AppGroup("plates", help="Issue plate IDs, print plates, and follow each plate's life.")


@plates_cli.command("issue")
@click.option("--batch-size", default=None, type=click.IntRange(1, 100_000),
              help="Plates per transaction (default from PLATESVC_ISSUE_BATCH_SIZE, 2000).")
def plates_issue(batch_size):
    """Give every active building that has no plate yet a new, permanent plate ID."""
    batch_size = batch_size or current_app.config["ISSUE_BATCH_SIZE"]
    awaiting = sum(plate_ids.buildings_awaiting_plates(db.session).values())
    with click.progressbar(length=awaiting, label="plates issued", file=sys.stderr) as bar:
        result = plate_ids.issue_plates(db.session, batch_size=batch_size, progress=bar.update,
                                        actor=audit.Actor.command_line())
    for prefix, count in sorted(result.issued.items()):
        click.echo(f"  {prefix}: issued {count}")
    for prefix, reason in sorted(result.refused.items()):
        click.echo(f"  {prefix}: not issued: {reason}")
    click.echo(f"issued {result.total} plate IDs" + (f"; {len(result.refused)} division codes refused"
                                                    if result.refused else ""))
    if result.refused:
        sys.exit(1)


def _formats(_ctx, _param, value: str) -> tuple[str, ...]:
    try:
        return batches.parse_formats(value)
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
              type=click.Choice(batches.PRINTABLE_STATUSES),
              help="Only plates with this status; repeat for several (e.g. --status damaged to reprint).")
@click.option("--plate", "plate_ids", multiple=True, metavar="ID",
              help="Only this plate (any spelling of its ID); repeatable. Combine with --status to reprint.")
@click.option("--format", "formats", default=",".join(batches.DEFAULT_FORMATS), show_default=True,
              callback=_formats, help=f"What to make, comma-separated, from {','.join(batches.FORMATS)}.")
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
    stage = stage_printer()
    bars = []

    def progress(count: int, total: int) -> None:
        if not bars:
            bars.append(click.progressbar(length=total, label="plates drawn", file=sys.stderr, show_eta=True))
            bars[0].__enter__()
        bars[0].update(count)

    def run():
        style = PlateStyle.parse(size or config["PLATE_SIZE"], ground or config["PLATE_GROUND"],
                                 ink or config["PLATE_INK"], error_correction or config["PLATE_ERROR_CORRECTION"])
        settings = batches.PrintSettings(style, sheet or config["PRINT_SHEET"], formats, workers, per_file,
                                               png_dpi)
        selection = batches.Selection(district, road, community, tuple(statuses), tuple(plate_ids))
        return batches.print_plates(db.session, config, out_dir, selection, settings, progress, stage,
                                          audit.Actor.command_line())

    try:
        result = fail_on_domain_error(run)
    finally:
        for bar in bars:
            bar.__exit__(None, None, None)
    for line in result.summary():
        click.echo(line)
    click.echo(f"  folder: {result.folder}")
    click.echo(f"  for the manufacturer: {result.archive}")


def _plate(text: str):
    return fail_on_domain_error(lambda: lifecycle.find_plate(db.session, text))


@plates_cli.command("status")
@click.argument("plate_id")
@click.argument("status", type=click.Choice([s.value for s in PlateStatus]))
@click.option("--reason", help="Why (required for damaged, missing and retired).")
@click.option("--merged-into", metavar="PLATE_ID", help="With retired: the plate of the building this one merged into.")
def plates_status(plate_id, status, reason, merged_into):
    """Move one plate on in its life: issued → printed → installed → damaged/missing → replaced, or retired."""
    plate = _plate(plate_id)
    before = plate.status
    other = _plate(merged_into) if merged_into else None
    fail_on_domain_error(lambda: lifecycle.change_plate_status(
        db.session, plate, status, audit.Actor.command_line(), reason, other))
    db.session.commit()
    click.echo(f"{plate_ids.parse_plate_id(plate.id).display}: {before} → {plate.status}")


@plates_cli.command("mark")
@click.argument("status", type=click.Choice([status.value for status in lifecycle.BULK_STATUSES]))
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--reason", help="Why, for every plate listed (required for damaged and missing).")
def plates_mark(status, path, reason):
    """Mark every plate listed in a CSV or XLSX file (a column of plate IDs) as STATUS, e.g. installed.

    Every listed plate that can move is changed in one transaction; each one that cannot
    (a mistyped ID, a plate not yet printed) is listed with the reason.
    """
    rows = fail_on_domain_error(lambda: lifecycle.plate_ids_in_file(path))
    reason = lifecycle.list_reason(status, reason, Path(path).name)
    with click.progressbar(rows, label="plates checked", file=sys.stderr) as bar:
        result = lifecycle.change_many(db.session, bar, status, audit.Actor.command_line(), reason)
    db.session.commit()
    for note in result.refused:
        click.echo(f"  refused row {note.row} ({note.key}): {note.reason}")
    for line in result.summary():
        click.echo(line)


@plates_cli.command("history")
@click.argument("plate_id")
def plates_history(plate_id):
    """Everything that has happened to a plate: who, when, what and why."""
    plate = _plate(plate_id)
    for event in audit.history(db.session, "plate", plate.id):
        change = f"{event.old_value or '-'} → {event.new_value}" if event.new_value else event.action
        why = f" ({event.reason})" if event.reason else ""
        click.echo(f"{event.at:%Y-%m-%d %H:%M} {event.actor}: {change}{why}")
