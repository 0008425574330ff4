"""Residents' reports: the short form a plate page links to, and the status page a ticket opens."""

from zoneinfo import ZoneInfo

from flask import current_app, redirect, request, url_for
from marshmallow import Schema, fields, validate

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
from platesvc.store.models import ReportKind, as_utc
from platesvc.web import resolve
from platesvc.web.i18n import choose_language
from platesvc.web.openapi import HTML, PLATE_ID, TICKET, Blueprint
from platesvc.web.parameters import Form, Text
from platesvc.web.resident import pages
from platesvc.web.resident.pages import resident_page

bp = Blueprint("reports", __name__, errors=HTML, errors_type="text/html",
               description="Residents' reports: the form, and what became of one")
bp.register_error_handler(UnknownPlateError, pages.unknown_plate)
bp.register_error_handler(RetiredPlateError, pages.retired_plate)
FORM_OVERHEAD = 64 * 1024  # the form's other fields, beside the photo


class ReportForm(Schema):
    """The form as sent. submit_report checks it, so that a mistake comes back as the form, in the
    resident's language, with what they typed."""

    kind = fields.String(required=True, validate=validate.OneOf(list(ReportKind)))
    description = fields.String(validate=validate.Length(max=MAX_DESCRIPTION))
    photo = fields.Raw(metadata={"type": "string", "format": "binary",
                                 "description": "JPEG, PNG, WebP or GIF; kept without metadata"})


class LookUp(Form):
    ref = Text(metadata={"description": "A ticket as typed"})


class Status(Form):
    new = Text(metadata={"description": "1: the report was just sent"})


def _form(plate_text: str, status: int = 200, message: str | None = None):
    document = resolve(plate_text).document
    return pages.render_page("report_form.html", status, plate_id=document["id"], display_id=document["display_id"],
                             address=document["address"]["full"], message=message, max_description=MAX_DESCRIPTION,
                             photo_mb=current_app.config["REPORT_PHOTO_MAX_BYTES"] // 2 ** 20,
                             chosen=request.form.get("kind"), description=request.form.get("description"))


@bp.get("/p/<plate_text>/report")
@bp.get("/P/<plate_text>/report", parameters=[PLATE_ID])
@resident_page((200, "The form"), (404, "No such plate"), (410, "Retired"))
def report_form(plate_text: str):
    """The resident's form to report a problem with the plate (also /p/)."""
    return _form(plate_text)


@bp.post("/p/<plate_text>/report")
@bp.post("/P/<plate_text>/report", parameters=[PLATE_ID])
@resident_page((404, "No such plate"), (410, "Retired"), (413, "The photo is too large"),
               (422, "The form again, saying what to correct"), (429, "Too many reports from here; try later"))
@bp.doc(requestBody={"required": True, "content": {"multipart/form-data": {"schema": ReportForm}}})
@bp.answers(303, description="Received: see the status page (Location)")
def submit(plate_text: str):
    """Report a damaged, missing or wrong plate or wrong information: no account, no personal data; the
    answer redirects to the report's status page (also /p/)."""
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


@bp.get("/reports/<ticket>", parameters=[TICKET])
@resident_page((200, "Its status and staff's answer"), (404, "No such report, with the look-up form"))
@bp.arguments(Status, location="query", as_kwargs=True)
def status(ticket: str, new: str = ""):
    """What has become of a report: only what is no one's personal business (not the resident's words or
    photo)."""
    try:
        report = find_report(db.session, ticket)
    except NotFoundError:
        return pages.render_page("report_look_up.html", 404, typed=ticket)
    received = as_utc(report.created_at).astimezone(ZoneInfo(current_app.config["TIMEZONE"]))
    return pages.render_page("report_status.html", report=report, ticket=display_ticket(report.ticket),
                             new=new == "1", received=f"{received:%Y-%m-%d %H:%M}",
                             plate_display=parse_plate_id(report.plate_id).display if report.plate_id else None)


@bp.get("/reports/")
@resident_page((200, "The look-up form"), (404, "Not a ticket, with the form"))
@bp.arguments(LookUp, location="query", as_kwargs=True)
@bp.answers(302, description="To the report's status page")
def look_up(ref: str = ""):
    """Look a report up by its ticket."""
    typed = ref.strip()
    if not typed:
        return pages.render_page("report_look_up.html", typed="")
    try:
        parse_ticket(typed)
    except NotFoundError:
        return pages.render_page("report_look_up.html", 404, typed=typed)
    return redirect(url_for("reports.status", ticket=typed, lang=request.args.get("lang")))
