"""The `platesvc` command line (also `flask --app platesvc`)."""

import os
import shutil
import sys
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup
from sqlalchemy import select

from gis.synthetic import DEFAULT_BUILDINGS, MIN_BUILDINGS
from platesvc import accounts, audit, demo, importers, jobs, lifecycle, plate_ids, print_batches, schema
from platesvc.database import db
from platesvc.errors import PlatesvcError
from platesvc.models import ApiToken, PlateStatus, Role, User
from platesvc.printing import PlateStyle

db_cli = AppGroup("db", help="Create or migrate the database schema.")
demo_cli = AppGroup("demo", help="The synthetic demo city.")
plates_cli = AppGroup("plates", help="Issue plate IDs, print plates, and follow each plate's life.")
users_cli = AppGroup("users", help="Staff accounts: admin (manages users), operator (imports, issues, prints, "
                                   "edits), viewer (reads reports and statistics).")
tokens_cli = AppGroup("tokens", help="API tokens for scripts (sent as Authorization: Bearer …).")
jobs_cli = AppGroup("jobs", help="Imports and print batches started from the staff pages.")


def init_app(app: Flask) -> None:
    for group in (db_cli, demo_cli, plates_cli, users_cli, tokens_cli, jobs_cli):
        app.cli.add_command(group)
    app.cli.add_command(import_command)
    app.cli.add_command(serve)


def main() -> None:
    from platesvc import create_app

    FlaskGroup(create_app=lambda: create_app({"COMMAND_LINE": True}), add_default_commands=True,
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
        f"{len(city.building_table)} buildings, {len(city.beats)} police beats, "
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
        report = plate_ids.issue_plates(db.session, batch_size=batch_size, progress=bar.update,
                                        actor=audit.Actor.command_line())
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
        return print_batches.print_plates(db.session, config, out_dir, selection, settings, progress, stage,
                                          audit.Actor.command_line())

    try:
        report = _fail_on_domain_error(run)
    finally:
        for bar in bars:
            bar.__exit__(None, None, None)
    for line in report.summary():
        click.echo(line)


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
            retire_missing=retire_missing, progress=progress, stage=stage, actor=audit.Actor.command_line()))
    finally:
        for bar in bars:
            bar.__exit__(None, None, None)
    report_path = Path(report_path) if report_path else Path(path).with_name(Path(path).stem + ".report.csv")
    report.write_csv(report_path)
    for line in report.summary(report_path):
        click.echo(line)


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
    click.echo(f"serving on http://{host}:{port}/ with {workers} workers")
    # No gunicorn access log: the app writes one line a request itself, with its request id
    # and without the client's address.
    os.execv(gunicorn, [gunicorn, "--bind", f"{host}:{port}", "--workers", str(workers),
                        "--config", "python:platesvc.serving", "platesvc:create_app()"])


def _plate(text: str):
    return _fail_on_domain_error(lambda: lifecycle.find_plate(db.session, text))


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
    _fail_on_domain_error(lambda: lifecycle.change_plate_status(
        db.session, plate, status, audit.Actor.command_line(), reason, other))
    db.session.commit()
    click.echo(f"{plate_ids.parse_plate_id(plate.id).display}: {before} → {plate.status}")


@plates_cli.command("mark")
@click.argument("status", type=click.Choice([PlateStatus.INSTALLED.value, PlateStatus.DAMAGED.value,
                                              PlateStatus.MISSING.value]))
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--reason", help="Why, for every plate listed (required for damaged and missing).")
def plates_mark(status, path, reason):
    """Mark every plate listed in a CSV or XLSX file (a column of plate IDs) as STATUS, e.g. installed.

    Every listed plate that can move is changed in one transaction; each one that cannot
    (a mistyped ID, a plate not yet printed) is listed with the reason.
    """
    rows = _fail_on_domain_error(lambda: lifecycle.plate_ids_in_file(path))
    if not reason and status == PlateStatus.INSTALLED:
        reason = f"listed in {Path(path).name}"
    with click.progressbar(rows, label="plates checked", file=sys.stderr) as bar:
        report = lifecycle.change_many(db.session, bar, status, audit.Actor.command_line(), reason)
    db.session.commit()
    for line in report.summary():
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


def _password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("password", hide_input=True, confirmation_prompt=True)


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]),
              help="admin, operator or viewer [default: admin for the first user, otherwise required].")
@click.option("--name", "display_name", help="The name staff pages show [default: the username].")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of asking.")
def users_create(username, role, display_name, password_stdin):
    """Create a staff user; the first one is the admin who makes the others."""
    if role is None:
        if accounts.has_admin(db.session):
            raise click.UsageError("an admin exists already: say --role admin, operator or viewer")
        role = Role.ADMIN.value
    password = _password(password_stdin)
    user = _fail_on_domain_error(lambda: accounts.create_user(
        db.session, audit.Actor.command_line(), username, password, role, display_name))
    db.session.commit()
    click.echo(f"created {user.role} {user.username}; sign in at /staff/sign-in")


@users_cli.command("list")
def users_list():
    """Every staff user, their role and whether they may sign in."""
    for user in db.session.scalars(select(User).order_by(User.username)):
        seen = (f"last signed in {user.last_signed_in_at:%Y-%m-%d %H:%M}" if user.last_signed_in_at
                else "never signed in")
        click.echo(f"{user.username:20} {user.role:9} {'active' if user.active else 'switched off':12} {seen}")


@users_cli.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice([r.value for r in Role]))
def users_set_role(username, role):
    """Give a user another role."""
    user = _fail_on_domain_error(lambda: accounts.find_user(db.session, username))
    _fail_on_domain_error(lambda: accounts.set_role(db.session, audit.Actor.command_line(), user, role))
    db.session.commit()
    click.echo(f"{user.username} is now {user.role}")


@users_cli.command("password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
def users_password(username, password_stdin):
    """Set a user's password; their open sessions end."""
    user = _fail_on_domain_error(lambda: accounts.find_user(db.session, username))
    password = _password(password_stdin)
    _fail_on_domain_error(lambda: accounts.set_password(db.session, audit.Actor.command_line(), user, password))
    db.session.commit()
    click.echo(f"new password set for {user.username}")


@users_cli.command("switch")
@click.argument("username")
@click.argument("state", type=click.Choice(["on", "off"]))
def users_switch(username, state):
    """Let a user sign in again (on), or stop them and their tokens (off)."""
    user = _fail_on_domain_error(lambda: accounts.find_user(db.session, username))
    _fail_on_domain_error(lambda: accounts.set_active(db.session, audit.Actor.command_line(), user, state == "on"))
    db.session.commit()
    click.echo(f"{user.username} is {'active' if user.active else 'switched off'}")


@tokens_cli.command("create")
@click.argument("username")
@click.option("--name", required=True, help="What uses it, e.g. 'installer app' or '12345 system'.")
@click.option("--days", type=int, default=None, help="How long it works [default: PLATESVC_TOKEN_DAYS, 90].")
def tokens_create(username, name, days):
    """Make an API token for a user's scripts; it is shown this once and stored only as a hash."""
    config = current_app.config
    user = _fail_on_domain_error(lambda: accounts.find_user(db.session, username))
    issued = _fail_on_domain_error(lambda: accounts.create_token(
        db.session, audit.Actor.command_line(), user, name, days or config["TOKEN_DAYS"], config["TOKEN_MAX_DAYS"]))
    db.session.commit()
    click.echo(issued.secret)
    click.echo(f"token #{issued.token.id} for {user.username} ({user.role}), valid until "
               f"{issued.token.expires_at:%Y-%m-%d}; it is not shown again", err=True)


@tokens_cli.command("list")
@click.argument("username", required=False)
def tokens_list(username):
    """API tokens (never their secrets): whose, what for, until when, last used."""
    user = _fail_on_domain_error(lambda: accounts.find_user(db.session, username)) if username else None
    for token in accounts.tokens_of(db.session, user):
        state = "revoked" if token.revoked_at else f"until {token.expires_at:%Y-%m-%d}"
        used = f"used {token.last_used_at:%Y-%m-%d}" if token.last_used_at else "never used"
        click.echo(f"#{token.id:<5} {token.user.username:16} {token.name:24} {state:18} {used}")


@tokens_cli.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id):
    """Stop a token at once."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise click.ClickException(f"no token #{token_id}")
    accounts.revoke_token(db.session, audit.Actor.command_line(), token)
    db.session.commit()
    click.echo(f"token #{token.id} ({token.name}) is revoked")


@jobs_cli.command("run")
@click.argument("job_id", type=int)
def jobs_run(job_id):
    """Run a queued staff job (the staff pages start this themselves, in the background)."""
    job = _fail_on_domain_error(lambda: jobs.run(db.session, current_app.config, job_id))
    for line in jobs.summary_of(job).get("lines", []):
        click.echo(line)
    click.echo(f"job {job.id}: {job.status}" + (f": {job.error}" if job.error else ""))
    if job.error:
        sys.exit(1)


@jobs_cli.command("list")
def jobs_list():
    """The latest staff jobs and how they went."""
    for job in jobs.recent(db.session):
        click.echo(f"#{job.id:<5} {job.kind:7} {job.status:10} {job.created_by.username:16} "
                   f"{job.created_at:%Y-%m-%d %H:%M}" + (f"  {job.error}" if job.error else ""))
