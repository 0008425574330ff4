"""Staff pages for plates: the dashboard, finding plates, one plate's record and life, bulk changes, the map."""

import csv
import io
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _

from platesvc import labels, spreadsheets
from platesvc.errors import DataError
from platesvc.registry import lifecycle
from platesvc.registry.audit import recent
from platesvc.scan import counts
from platesvc.search.batch import geocode_file, geocoded_rows
from platesvc.staff import jobs, plate_records, reports
from platesvc.store.database import db
from platesvc.store.models import PlateStatus, Role
from platesvc.web.parameters import Form, Whole, parse
from platesvc.web.resident.pages import map_context
from platesvc.web.staff import actor, page, requires, signed_in_user

bp = Blueprint("plates", __name__)
GEOCODE_MAX_ROWS = 5000  # answered while the page waits: some 2 ms a row
QUIET_DAYS = 30  # an installed plate nobody scanned for this long may be gone or unreadable


def _today():
    return datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()


@bp.get("/")
@requires(Role.VIEWER)
def dashboard():
    """Plates by status, the report queue, the week's scans, installed plates gone quiet, the latest changes."""
    today = _today()
    with db.engine.connect() as connection:
        week = counts.daily_totals(connection, today - timedelta(days=6))
        quiet = counts.quiet_plates(connection, today - timedelta(days=QUIET_DAYS))
    return page("dashboard.html", statuses=lifecycle.count_by_status(db.session),
                reports=reports.counts_by_status(db.session), week=week, quiet=len(quiet), quiet_days=QUIET_DAYS,
                events=recent(db.session, limit=20))


class QuietQuery(Form):
    days = Whole(1, 3660, load_default=QUIET_DAYS)


@bp.get("/quiet-plates.csv")
@requires(Role.VIEWER)
def quiet_plates():
    """Installed plates no one has scanned for QUIET_DAYS days, with their addresses, for a check on site."""
    days = parse(QuietQuery(), "query")["days"]
    with db.engine.connect() as connection:
        quiet = counts.quiet_plates(connection, _today() - timedelta(days=days))
    found = plate_records.summaries(db.session, current_app.config, quiet)
    out = io.StringIO()
    writer = csv.writer(out)
    # The IDs first: the list, once checked on site, can be uploaded to be marked as it is.
    writer.writerow([_("Plate ID"), _("Plate ID as printed"), _("Address"), _("District"), _("Community")])
    for plate_id in quiet:
        summary = found[plate_id]
        writer.writerow(spreadsheets.row([plate_id, summary.display_id, summary.address, summary.district,
                                          summary.community]))
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=quiet-plates.csv"})


@bp.get("/plates")
@requires(Role.VIEWER)
def search():
    """Find plates by ID (any spelling) or address as people type it; one exact match opens it."""
    text = request.args.get("q", "").strip()
    found, exact = plate_records.search(db.session, current_app.config, text)
    if exact:
        return redirect(url_for("staff.plates.detail", plate_text=exact))
    return page("plates.html", query=text, found=found, limit=plate_records.SEARCH_LIMIT)


@bp.get("/plates/<plate_text>")
@requires(Role.VIEWER)
def detail(plate_text: str):
    plate = lifecycle.find_plate(db.session, plate_text)
    return page("plate.html", record=plate_records.plate_record(db.session, current_app.config, plate),
                reason_required=[s.value for s in lifecycle.REASON_REQUIRED])


@bp.post("/plates/<plate_text>/status")
@requires(Role.OPERATOR)
def change_status(plate_text: str):
    plate = lifecycle.find_plate(db.session, plate_text)
    merged_into = request.form.get("merged_into", "").strip()
    other = lifecycle.find_plate(db.session, merged_into) if merged_into else None
    before = plate.status
    lifecycle.change_plate_status(db.session, plate, request.form.get("status", ""), actor(),
                                  request.form.get("reason"), other)
    db.session.commit()
    flash(_("Status changed: %(before)s → %(after)s", before=labels.PLATE_STATUSES[before],
            after=labels.PLATE_STATUSES[plate.status]))
    return redirect(url_for("staff.plates.detail", plate_text=plate.id), 303)


@bp.get("/plates/bulk")
@requires(Role.OPERATOR)
def bulk_form():
    return page("bulk.html", statuses=[status.value for status in lifecycle.BULK_STATUSES],
                max_rows=lifecycle.BULK_MAX_ROWS)


@bp.post("/plates/bulk")
@requires(Role.OPERATOR, body_limit="IMPORT_MAX_BYTES")
def bulk():
    """Mark every plate in an uploaded list (CSV or XLSX of plate IDs), e.g. as installed, as a job: the job page
    gives what changed and each refused row with its reason."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise DataError("Choose a CSV or Excel file listing plate IDs.")
    job = jobs.start_marking(db.session, current_app.config, signed_in_user(),
                             request.form.get("status", PlateStatus.INSTALLED),
                             request.form.get("reason", "").strip() or None, [upload])
    return redirect(url_for("staff.jobs.job", job_id=job.id), 303)


@bp.get("/geocode")
@requires(Role.OPERATOR)
def geocode_form():
    return page("geocode.html", max_rows=GEOCODE_MAX_ROWS)


@bp.post("/geocode")
@requires(Role.OPERATOR, body_limit="IMPORT_MAX_BYTES")  # changes nothing, but staff's uploads are an operator's
def geocode():
    """The plate of every address in an uploaded list (CSV or XLSX), given back as the same kind of file with each
    row's plate, address, score and coordinates, and why a row is unmatched."""
    upload = request.files.get("file")
    suffix = Path(upload.filename).suffix.lower() if upload is not None and upload.filename else ""
    if suffix not in (".csv", ".txt", ".xlsx"):
        raise DataError("Choose a CSV or Excel file listing addresses.")
    form = "xlsx" if suffix == ".xlsx" else "csv"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"list{suffix}"
        upload.save(path)
        result = geocode_file(db.session, current_app.config, path, GEOCODE_MAX_ROWS)
    out = io.BytesIO()
    spreadsheets.write_rows(geocoded_rows(result, current_app.config), out, form)
    return Response(out.getvalue(), mimetype=spreadsheets.FORMATS[form],
                    headers={"Content-Disposition": f"attachment; filename=geocoded.{form}"})


@bp.get("/map")
@requires(Role.VIEWER)
def staff_map():
    """The web map, where a tapped plate opens its staff record."""
    return page("map.html", **map_context(url_for("staff.plates.detail", plate_text="PLATE")))
