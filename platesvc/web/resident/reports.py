"""Residents' reports: the short form a plate page links to, and the status page a ticket opens.

A resident's browser remembers the tickets it was given (a cookie that only it holds), so
that the plate page's "check a report" goes straight to that report's status.
"""

import re

from flask import current_app, redirect, request, url_for
from marshmallow import Schema, fields, validate

from platesvc.errors import DataError, NotFoundError, RetiredPlateError, UnknownPlateError
from platesvc.messages import Message
from platesvc.registry import audit
from platesvc.registry.plate_ids import parse_plate_id
from platesvc.staff.reports import (
    MAX_DESCRIPTION,
    Place,
    add_to_report,
    display_ticket,
    find_report,
    open_reports_of,
    parse_ticket,
    submit_report,
)
from platesvc.store.database import db
from platesvc.store.models import ReportKind
from platesvc.web import local_time, resolve
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
# A photo up to this many times the limit is read, so that the form comes back with what the resident wrote
# and a word on the photo; only a bigger body is cut off unread (the page's script stops most before sending).
PHOTO_READ_FACTOR = 4
REMEMBERED_COOKIE = "my_reports"  # plate.ticket pairs, newest first, held only by the resident's browser
REMEMBERED_REPORTS = 10
REMEMBERED_DAYS = 365
_PAIR = re.compile(r"^([0-9A-Z]{12})\.([0-9A-Z]{9})$")


class ReportForm(Schema):
    """The form as sent. submit_report checks it, so that a mistake comes back as the form, in the
    resident's language, with what they typed."""

    kind = fields.String(required=True, validate=validate.OneOf(list(ReportKind)))
    description = fields.String(validate=validate.Length(max=MAX_DESCRIPTION))
    photo = fields.Raw(metadata={"type": "string", "format": "binary",
                                 "description": "JPEG, PNG, WebP or GIF; kept without metadata"})


class Addition(Schema):
    description = fields.String(required=True, validate=validate.Length(max=MAX_DESCRIPTION),
                                metadata={"description": "What the resident sees; empty says only \"I see it too\""})
    photo = fields.Raw(metadata={"type": "string", "format": "binary",
                                 "description": "JPEG, PNG, WebP or GIF; kept without metadata"})


class LookUp(Form):
    ref = Text(metadata={"description": "A ticket as typed"})


class Status(Form):
    new = Text(metadata={"description": "1: the report was just sent; 2: the resident's words were added to it"})


class LookUpForPlate(LookUp):
    plate = Text(metadata={"description": "A plate: the report this browser sent about it, if one"})


def _form(plate_text: str, status: int = 200, message: str | None = None, adding_to: str | None = None):
    document = resolve(plate_text).document
    open_reports = open_reports_of(db.session, document["id"])
    limit = current_app.config["REPORT_PHOTO_MAX_BYTES"]
    return pages.render_page("report_form.html", status, plate_id=document["id"], display_id=document["display_id"],
                             address=document["address"]["full"], message=message, max_description=MAX_DESCRIPTION,
                             photo_mb=_megabytes(limit), photo_bytes=limit, photo_too_big=_photo_too_big(limit),
                             open_reports=open_reports, adding_to=adding_to,
                             chosen=request.form.get("kind"), description=request.form.get("description"))


def _read_limit() -> None:
    request.max_content_length = current_app.config["REPORT_PHOTO_MAX_BYTES"] * PHOTO_READ_FACTOR + FORM_OVERHEAD


def _photo() -> bytes | None:
    """The photo sent, if any.

    :raises DataError: it is over the limit.
    """
    photo = request.files.get("photo")
    if not photo or not photo.filename:
        return None
    limit = current_app.config["REPORT_PHOTO_MAX_BYTES"]
    data = photo.read(limit + 1)
    if len(data) > limit:
        raise DataError(_photo_too_big(limit))
    return data


def _photo_too_big(limit: int) -> Message:
    return Message("The photo is larger than %(mb)s MB. Choose a smaller photo, or send the report without one: "
                   "what you wrote is still in the form.", mb=_megabytes(limit))


def _megabytes(size: int) -> str:
    return f"{size / 2 ** 20:.1f}".removesuffix(".0")


def _remembered() -> list[tuple[str, str]]:
    """The (plate, ticket) pairs this browser was given, newest first; anything else in the cookie is ignored."""
    pairs = []
    for item in request.cookies.get(REMEMBERED_COOKIE, "").split("_"):
        found = _PAIR.match(item)
        if found:
            pairs.append(found.groups())
    return pairs[:REMEMBERED_REPORTS]


def _to_status(plate_id: str, ticket: str, new: str):
    """The answer to a sent form: to the report's status page, remembering its ticket for this plate."""
    response = redirect(url_for("reports.status", ticket=display_ticket(ticket), new=new,
                                lang=choose_language(request)), 303)
    pairs = [(plate_id, ticket)] + [pair for pair in _remembered() if pair != (plate_id, ticket)]
    response.set_cookie(REMEMBERED_COOKIE, "_".join(f"{plate}.{kept}" for plate, kept in pairs[:REMEMBERED_REPORTS]),
                        max_age=REMEMBERED_DAYS * 86400, samesite="Lax", httponly=True, secure=request.is_secure)
    return response


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
    _read_limit()
    document = resolve(plate_text).document
    place = Place(document["id"], *document["location"]["wgs84"], document["address"]["full"])
    try:
        report = submit_report(db.session, audit.RESIDENT, request.form.get("kind", ""), place,
                               request.form.get("description"), _photo())
    except DataError as error:
        db.session.rollback()
        return _form(plate_text, 422, error.message)
    db.session.commit()
    return _to_status(document["id"], report.ticket, "1")


@bp.post("/p/<plate_text>/report/<ticket>")
@bp.post("/P/<plate_text>/report/<ticket>", parameters=[PLATE_ID, TICKET])
@resident_page((404, "No such plate, or no such report about it"), (410, "Retired"),
               (413, "The photo is too large"), (422, "The form again: the report has closed, or what to correct"),
               (429, "Too many reports from here; try later"))
@bp.doc(requestBody={"required": True, "content": {"multipart/form-data": {"schema": Addition}}})
@bp.answers(303, description="Added: see the report's status page (Location)")
def add_to(plate_text: str, ticket: str):
    """Add a note or a photo to an open report about this plate, rather than report the same problem again
    (nothing at all says "I see it too"); the answer redirects to the report's status page (also /p/)."""
    _read_limit()
    document = resolve(plate_text).document
    try:
        report = find_report(db.session, ticket)
        if report.plate_id != document["id"]:
            raise NotFoundError("Report %(ticket)s is not about plate %(plate)s.", ticket=ticket,
                                plate=document["display_id"])
    except NotFoundError as error:  # the form again, with the plate's open reports as they are now
        return _form(plate_text, 404, error.message)
    try:
        if "description" not in request.form:  # the form always sends it, if empty: this is no form
            raise DataError("Send the form: a description (it may be empty) and, if you like, a photo.")
        add_to_report(db.session, audit.RESIDENT, report, request.form["description"], _photo())
    except DataError as error:
        db.session.rollback()
        return _form(plate_text, 422, error.message, adding_to=report.ticket)
    db.session.commit()
    return _to_status(document["id"], report.ticket, "2")


@bp.get("/reports/<ticket>", parameters=[TICKET])
@resident_page((200, "Its status and staff's answer"), (404, "No such report, with the look-up form"))
@bp.arguments(Status, location="query", as_kwargs=True)
def status(ticket: str, new: str = ""):
    """What has become of a report: only what is no one's personal business (not the resident's words or
    photo)."""
    try:
        report = find_report(db.session, ticket)
    except NotFoundError:
        return pages.render_page("report_look_up.html", 404, typed=ticket, remembered=[])
    return pages.render_page("report_status.html", report=report, ticket=display_ticket(report.ticket),
                             new=new, received=local_time(report.created_at), additions=len(report.additions),
                             plate_display=parse_plate_id(report.plate_id).display if report.plate_id else None)


@bp.get("/reports/")
@resident_page((200, "The look-up form"), (404, "Not a ticket, with the form"))
@bp.arguments(LookUpForPlate, location="query", as_kwargs=True)
@bp.answers(302, description="To the report's status page")
def look_up(ref: str = "", plate: str = ""):
    """Look a report up by its ticket; with `plate`, straight to the one this browser sent about it."""
    typed = ref.strip()
    remembered = _remembered()
    if not typed:
        about = [ticket for plate_id, ticket in remembered if plate_id == plate.strip().upper()]
        if len(about) == 1:
            return redirect(url_for("reports.status", ticket=display_ticket(about[0]), lang=request.args.get("lang")))
        return pages.render_page("report_look_up.html", typed="", remembered=_listed(about or
                                 [ticket for _, ticket in remembered]))
    try:
        parse_ticket(typed)
    except NotFoundError:
        return pages.render_page("report_look_up.html", 404, typed=typed, remembered=[])
    return redirect(url_for("reports.status", ticket=typed, lang=request.args.get("lang")))


def _listed(tickets: list[str]) -> list[dict]:
    """The tickets this browser remembers, with what each is about, as the look-up page lists them."""
    found = []
    for ticket in tickets:
        try:
            report = find_report(db.session, ticket)
        except NotFoundError:  # from another database (a test site, a restore): not offered
            continue
        found.append({"ticket": display_ticket(ticket), "kind": report.kind, "status": report.status,
                      "received": local_time(report.created_at)})
    return found
