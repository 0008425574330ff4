"""The staff JSON API for scripts (an installer's app, a 12345 system): send `Authorization: Bearer <token>`."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, jsonify, request

from platesvc.errors import BadParameterError
from platesvc.registry import lifecycle
from platesvc.scan import counts
from platesvc.staff import accounts, plate_records, reports
from platesvc.store.database import db
from platesvc.store.models import AuditEvent, ResidentReport, Role, as_utc
from platesvc.web.staff import actor, requires, signed_in_user
from platesvc.web.staff.reports import VIEWS

bp = Blueprint("staff_api", __name__, url_prefix="/api/v1/staff")
STATISTICS_DAYS = 30


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadParameterError("body", "send a JSON object (Content-Type: application/json)")
    return body


def _text(body: dict, name: str, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise BadParameterError(name, "must be a string" + (" and is required" if required else ""))
    return value


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
@requires(Role.VIEWER)
def me():
    user = signed_in_user()
    return jsonify(username=user.username, display_name=user.display_name, role=user.role)


@bp.get("/plates/<plate_text>")
@requires(Role.VIEWER)
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


@bp.post("/plates/<plate_text>/status")
@requires(Role.OPERATOR)
def change_status(plate_text: str):
    """{"status": "installed", "reason": "…", "merged_into": "<plate ID>"}: one plate moves on."""
    body = _body()
    plate = lifecycle.find_plate(db.session, plate_text)
    other = _text(body, "merged_into")
    before = plate.status
    lifecycle.change_plate_status(db.session, plate, _text(body, "status", required=True), actor(),
                                  _text(body, "reason"), lifecycle.find_plate(db.session, other) if other else None)
    db.session.commit()
    return jsonify(id=plate.id, previous=before, status=plate.status)


@bp.post("/plates/status")
@requires(Role.OPERATOR)
def change_many():
    """{"status": "installed", "plates": ["640104-0A3KX-D", …], "reason": "…"}: all that can move, in one go."""
    body = _body()
    listed = body.get("plates")
    if not isinstance(listed, list) or not all(isinstance(text, str) for text in listed) or not listed:
        raise BadParameterError("plates", "must be a non-empty list of plate IDs")
    report = lifecycle.change_many(db.session, list(enumerate(listed, start=1)), _text(body, "status", required=True),
                                   actor(), _text(body, "reason"))
    db.session.commit()
    return jsonify(status=report.status, changed=report.changed, unchanged=report.unchanged,
                   refused=[{"item": row, "plate": text, "reason": reason} for row, text, reason in report.refused])


@bp.get("/reports")
@requires(Role.VIEWER)
def report_queue():
    show = request.args.get("show", "open")
    if show not in VIEWS:
        raise BadParameterError("show", f"one of {', '.join(VIEWS)}")
    return jsonify([_report(report) for report in reports.queue(db.session, VIEWS[show], request.args.get("kind"))])


@bp.post("/reports/<ticket>")
@requires(Role.OPERATOR)
def update_report(ticket: str):
    """{"status": …, "assignee": "<username>" or null, "public_notes": …, "reason": …}, each optional."""
    body = _body()
    found = reports.find_report(db.session, ticket)
    assignee = False
    if "assignee" in body:
        name = _text(body, "assignee")
        assignee = accounts.find_user(db.session, name) if name else None
    reports.update_report(db.session, actor(), found, status=_text(body, "status"), assignee=assignee,
                          public_notes=_text(body, "public_notes"), reason=_text(body, "reason"))
    db.session.commit()
    return jsonify(_report(found))


@bp.get("/statistics")
@requires(Role.VIEWER)
def statistics():
    """Plates by status, reports by status, scans per day over 30 days, installed plates gone quiet."""
    today = datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()
    with db.engine.connect() as connection:
        daily = counts.daily_totals(connection, today - timedelta(days=STATISTICS_DAYS - 1))
        quiet = counts.quiet_plates(connection, today - timedelta(days=STATISTICS_DAYS))
    return jsonify(plates=lifecycle.count_by_status(db.session), reports=reports.counts_by_status(db.session),
                   scans_by_day={day.isoformat(): count for day, count in daily.items()},
                   quiet_installed_plates=len(quiet))
