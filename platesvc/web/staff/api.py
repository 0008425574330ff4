"""The staff JSON API for scripts (an installer's app, a 12345 system): send `Authorization: Bearer <token>`."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, jsonify
from marshmallow import Schema, fields, validate

from platesvc.registry import lifecycle
from platesvc.scan import counts
from platesvc.staff import accounts, plate_records, reports
from platesvc.store.database import db
from platesvc.store.models import AuditEvent, PlateStatus, ReportKind, ReportStatus, ResidentReport, Role, as_utc
from platesvc.web.openapi import PLATE_ID, TICKET, Blueprint
from platesvc.web.parameters import Choice, Text
from platesvc.web.staff import actor, documented_requires, signed_in_user
from platesvc.web.staff.reports import VIEWS

bp = Blueprint("staff_api", __name__, url_prefix="/api/v1/staff",
               description="For staff's scripts: send Authorization: Bearer <token>")
STATISTICS_DAYS = 30
BULK_API_MAX_PLATES = 10_000  # checked in the request; about a second's work


def staff_only(role: Role):
    return documented_requires(bp, role)


class Body(Schema):
    """A JSON object of the fields named here, and no others (a misspelt one is refused, not ignored)."""

    error_messages = {"unknown": "is not a field of this request", "type": "send a JSON object"}


class StatusChange(Body):
    status = Choice(PlateStatus, required=True)
    reason = Text()
    merged_into = Text(metadata={"description": "With retired: the plate it joined"})


class BulkStatusChange(Body):
    status = Choice(lifecycle.BULK_STATUSES, required=True)
    reason = Text()
    plates = fields.List(Text(), required=True, validate=validate.Length(min=1, max=BULK_API_MAX_PLATES),
                         metadata={"description": f"At most {BULK_API_MAX_PLATES:,} a request: a longer list is "
                                                  "uploaded on the bulk page, where it runs as a job"})


class ReportChange(Body):
    status = Choice(ReportStatus)
    assignee = Text(allow_none=True, metadata={"description": "A username, or null for no one"})
    public_notes = Text()
    reason = Text()


class ReportsQuery(Schema):
    show = Choice(VIEWS, load_default="open")
    kind = Choice(ReportKind)


class StaffUser(Schema):
    username = fields.String(required=True)
    display_name = fields.String(allow_none=True)
    role = fields.String(required=True)


class PlateRecord(Schema):
    id = fields.String(required=True)
    display_id = fields.String()
    status = fields.String(required=True)
    address = fields.String(allow_none=True)
    next_statuses = fields.List(fields.String())
    history = fields.List(fields.Dict(), required=True)
    prints = fields.List(fields.Dict())
    scans = fields.Dict(keys=fields.String(), values=fields.Integer())
    reports = fields.List(fields.String())


class StatusChanged(Schema):
    id = fields.String(required=True)
    previous = fields.String(required=True)
    status = fields.String(required=True)


class BulkChanged(Schema):
    status = fields.String()
    changed = fields.List(fields.String(), required=True)
    unchanged = fields.List(fields.String(), required=True)
    refused = fields.List(fields.Dict(), required=True)


class StaffReport(Schema):
    ticket = fields.String(required=True)
    kind = fields.String(required=True)
    status = fields.String(required=True)
    plate_id = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    longitude = fields.Float(allow_none=True)
    latitude = fields.Float(allow_none=True)
    description = fields.String(allow_none=True)
    source = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)
    public_notes = fields.String(allow_none=True)
    created_at = fields.String(allow_none=True)
    updated_at = fields.String(allow_none=True)


class Statistics(Schema):
    plates = fields.Dict(required=True)
    reports = fields.Dict(required=True)
    scans_by_day = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    quiet_installed_plates = fields.Integer()


def _moment(moment) -> str | None:
    return as_utc(moment).isoformat(timespec="seconds") if moment else None


def _event(event: AuditEvent) -> dict:
    return {"at": _moment(event.at), "actor": event.actor, "action": event.action, "from": event.old_value,
            "to": event.new_value, "reason": event.reason}


def _report(report: ResidentReport) -> dict:
    return {"ticket": reports.display_ticket(report.ticket), "kind": report.kind, "status": report.status,
            "plate_id": report.plate_id, "address": report.address, "longitude": report.longitude,
            "latitude": report.latitude, "description": report.description, "source": report.source,
            "assignee": report.assignee.username if report.assignee else None, "public_notes": report.public_notes,
            "created_at": _moment(report.created_at), "updated_at": _moment(report.updated_at)}


@bp.get("/me")
@staff_only(Role.VIEWER)
@bp.answers(200, StaffUser, "Who the token belongs to")
def me():
    """The token's user and role."""
    user = signed_in_user()
    return jsonify(username=user.username, display_name=user.display_name, role=user.role)


@bp.get("/plates/<plate_text>", parameters=[PLATE_ID])
@staff_only(Role.VIEWER)
@bp.answers(200, PlateRecord, "The record")
@bp.refuses(404, "No such plate")
def plate(plate_text: str):
    """A plate's record: status, address, whole history, prints and recent scans."""
    record = plate_records.plate_record(db.session, current_app.config,
                                        lifecycle.find_plate(db.session, plate_text))
    return jsonify(id=record.plate.id, display_id=record.summary.display_id, status=record.plate.status,
                   address=record.summary.address, next_statuses=record.next_statuses,
                   history=[_event(event) for event in record.history],
                   prints=[{"batch": p.batch, "printed_at": _moment(p.printed_at), "file": p.file, "page": p.page,
                            "position": p.position} for p in record.prints],
                   scans={day.isoformat(): count for day, count in record.scans.items()},
                   reports=[reports.display_ticket(r.ticket) for r in record.reports])


@bp.post("/plates/<plate_text>/status", parameters=[PLATE_ID])
@staff_only(Role.OPERATOR)
@bp.arguments(StatusChange)
@bp.answers(200, StatusChanged, "Changed")
@bp.refuses(404, "No such plate")
@bp.refuses(409, "Not a transition from its status")
@bp.refuses(422, "No reason where one is required")
def change_status(body: dict, plate_text: str):
    """Move a plate on in its life (operator)."""
    plate = lifecycle.find_plate(db.session, plate_text)
    other = body.get("merged_into")
    before = plate.status
    lifecycle.change_plate_status(db.session, plate, body["status"], actor(), body.get("reason"),
                                  lifecycle.find_plate(db.session, other) if other else None)
    db.session.commit()
    return jsonify(id=plate.id, previous=before, status=plate.status)


@bp.post("/plates/status")
@staff_only(Role.OPERATOR)
@bp.arguments(BulkStatusChange)
@bp.answers(200, BulkChanged, "What changed, and each plate refused with its reason")
@bp.refuses(422, "No reason where one is required")
def change_many(body: dict):
    """Move many plates (say, a day's installations) at once: all that can move (operator)."""
    report = lifecycle.change_many(db.session, list(enumerate(body["plates"], start=1)), body["status"], actor(),
                                   body.get("reason"))
    db.session.commit()
    return jsonify(status=report.status, changed=report.changed, unchanged=report.unchanged,
                   refused=[{"item": note.row, "plate": note.key, "reason": str(note.reason)}
                            for note in report.refused])


@bp.get("/reports")
@staff_only(Role.VIEWER)
@bp.arguments(ReportsQuery, location="query", as_kwargs=True)
@bp.answers(200, StaffReport(many=True), "Reports")
def report_queue(show: str, kind: str | None = None):
    """Residents' reports, the longest waiting first (viewer)."""
    return jsonify([_report(report) for report in reports.queue(db.session, VIEWS[show], kind)])


@bp.post("/reports/<ticket>", parameters=[TICKET])
@staff_only(Role.OPERATOR)
@bp.arguments(ReportChange)
@bp.answers(200, StaffReport, "The report now")
@bp.refuses(404, "No such report or user")
@bp.refuses(422, "Closed without an answer")
def update_report(body: dict, ticket: str):
    """Assign, answer or close a report; each field is optional (operator)."""
    found = reports.find_report(db.session, ticket)
    assignee = False
    if "assignee" in body:
        name = body["assignee"]
        assignee = accounts.find_user(db.session, name) if name else None
    reports.update_report(db.session, actor(), found, status=body.get("status"), assignee=assignee,
                          public_notes=body.get("public_notes"), reason=body.get("reason"))
    db.session.commit()
    return jsonify(_report(found))


@bp.get("/statistics")
@staff_only(Role.VIEWER)
@bp.answers(200, Statistics, "The figures")
def statistics():
    """Plates by status, reports by status, scans per day over 30 days, installed plates gone quiet."""
    today = datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()
    with db.engine.connect() as connection:
        daily = counts.daily_totals(connection, today - timedelta(days=STATISTICS_DAYS - 1))
        quiet = counts.quiet_plates(connection, today - timedelta(days=STATISTICS_DAYS))
    return jsonify(plates=lifecycle.count_by_status(db.session), reports=reports.counts_by_status(db.session),
                   scans_by_day={day.isoformat(): count for day, count in daily.items()},
                   quiet_installed_plates=len(quiet))
