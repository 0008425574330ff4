"""Residents' reports: the short form a plate page links to, and the status page a ticket opens."""

from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, redirect, request, url_for

from platesvc.errors import DataError, NotFoundError, RetiredPlateError, UnknownPlateError
from platesvc.registry import audit
from platesvc.registry.plate_ids import parse_plate_id
from platesvc.staff.reports import (
    MAX_DESCRIPTION,
    Place,
    display_ticket,
    find_report,
    parse_ticket,
    submit_report,
)
from platesvc.store.database import db
from platesvc.store.models import as_utc
from platesvc.web import resolve
from platesvc.web.i18n import choose_language
from platesvc.web.resident import pages

bp = Blueprint("reports", __name__)
bp.register_error_handler(UnknownPlateError, pages.unknown_plate)
bp.register_error_handler(RetiredPlateError, pages.retired_plate)
FORM_OVERHEAD = 64 * 1024  # the form's other fields, beside the photo


def _form(plate_text: str, status: int = 200, message: str | None = None):
    document = resolve(plate_text).document
    return pages.render_page("report_form.html", status, plate_id=document["id"], display_id=document["display_id"],
                             address=document["address"]["full"], message=message, max_description=MAX_DESCRIPTION,
                             photo_mb=current_app.config["REPORT_PHOTO_MAX_BYTES"] // 2 ** 20,
                             chosen=request.form.get("kind"), description=request.form.get("description"))


@bp.get("/p/<plate_text>/report")
@bp.get("/P/<plate_text>/report")
def report_form(plate_text: str):
    return _form(plate_text)


@bp.post("/p/<plate_text>/report")
@bp.post("/P/<plate_text>/report")
def submit(plate_text: str):
    """Take a report: no account, nothing about the resident; the answer is its ticket."""
    request.max_content_length = current_app.config["REPORT_PHOTO_MAX_BYTES"] + FORM_OVERHEAD
    document = resolve(plate_text).document
    photo = request.files.get("photo")
    place = Place(document["id"], *document["location"]["wgs84"], document["address"]["full"])
    try:
        report = submit_report(db.session, audit.RESIDENT, request.form.get("kind", ""), place,
                               request.form.get("description"), photo.read() if photo and photo.filename else None)
    except DataError as error:
        db.session.rollback()
        return _form(plate_text, 422, error.message)
    db.session.commit()
    return redirect(url_for("reports.status", ticket=display_ticket(report.ticket), new=1,
                            lang=choose_language(request)), 303)


@bp.get("/reports/<ticket>")
def status(ticket: str):
    """What has become of a report; only what is no one's personal business (not the resident's words or photo)."""
    try:
        report = find_report(db.session, ticket)
    except NotFoundError:
        return pages.render_page("report_look_up.html", 404, typed=ticket)
    received = as_utc(report.created_at).astimezone(ZoneInfo(current_app.config["TIMEZONE"]))
    return pages.render_page("report_status.html", report=report, ticket=display_ticket(report.ticket),
                             new=request.args.get("new") == "1", received=f"{received:%Y-%m-%d %H:%M}",
                             plate_display=parse_plate_id(report.plate_id).display if report.plate_id else None)


@bp.get("/reports/")
def look_up():
    typed = request.args.get("ref", "").strip()
    if not typed:
        return pages.render_page("report_look_up.html", typed="")
    try:
        parse_ticket(typed)
    except NotFoundError:
        return pages.render_page("report_look_up.html", 404, typed=typed)
    return redirect(url_for("reports.status", ticket=typed, lang=request.args.get("lang")))
