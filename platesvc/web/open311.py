"""Open311 GeoReport v2 (JSON): city 12345 systems send residents' reports and read their status.

Service codes are the report kinds. POST /requests.json needs an `api_key`: an API
token of any staff user (an account made for the 12345 system). A report may name its
plate as `address_id` (the plate ID: the city's address key), or give lat/long or an
address. Personal fields (email, phone, first_name, last_name, device_id, account_id)
are accepted and dropped: nothing about the resident is kept. Without a key, reading
gives every field but the description and the photo URL.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from platesvc.errors import (
    AuthenticationError,
    BadParameterError,
    DataError,
    NotFoundError,
    PlatesvcError,
    RetiredPlateError,
    UnknownPlateError,
)
from platesvc.registry import audit
from platesvc.registry.plate_ids import parse_plate_id
from platesvc.staff import accounts
from platesvc.staff.reports import CLOSED, Place, display_ticket, parse_ticket, submit_report
from platesvc.store.database import db
from platesvc.store.models import ReportKind, ReportStatus, ResidentReport, User, as_utc
from platesvc.store.spatial import district_containing
from platesvc.web import resolve
from platesvc.web.i18n import MESSAGES, STAFF
from platesvc.web.parameters import fields, number

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
DEFAULT_DAYS = 90
MAX_REQUESTS = 1000
DESCRIPTIONS = {
    ReportKind.PLATE_DAMAGED: "门牌或二维码损坏、看不清、扫不出",
    ReportKind.PLATE_MISSING: "门牌丢失或未安装",
    ReportKind.PLATE_WRONG: "门牌上的道路名或门牌号与实际不符",
    ReportKind.INFO_WRONG: "扫码页面上的民警、服务点或文化信息有误",
}


def _check_jurisdiction(values) -> None:
    given = values.get("jurisdiction_id")
    if given and given != current_app.config["OPEN311_JURISDICTION"]:
        raise BadParameterError("jurisdiction_id", f"this endpoint serves {current_app.config['OPEN311_JURISDICTION']}")


def _key_user(values) -> User | None:
    """The staff user behind `api_key` (or a Bearer token), None without one; a wrong key is an error."""
    key = values.get("api_key") or request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not key:
        return None
    user, _ = accounts.user_for_token(db.session, key)
    return user


@bp.get("/services.json")
def services():
    _check_jurisdiction(request.args)
    names = MESSAGES["zh"]["report_kinds"]
    return jsonify([{"service_code": kind.value, "service_name": STAFF["report_kinds"][kind], "description":
                     f"{names[kind]}：{DESCRIPTIONS[kind]}", "metadata": False, "type": "realtime",
                     "keywords": "门牌,二维码", "group": "门牌"} for kind in ReportKind])


@bp.get("/services/<service_code>.json")
def service_definition(service_code: str):
    _check_jurisdiction(request.args)
    _kind(service_code)
    return jsonify({"service_code": service_code, "attributes": []})


def _kind(code: str | None) -> ReportKind:
    try:
        return ReportKind(code or "")
    except ValueError:
        raise BadParameterError("service_code", f"{code!r} is none of {', '.join(ReportKind)}") from None


def _place(values) -> Place:
    """Where the report is about: the plate named as address_id, else lat/long, else the address text."""
    if values.get("address_id"):
        try:
            document = resolve(values["address_id"]).document
        except (UnknownPlateError, RetiredPlateError) as error:
            raise BadParameterError("address_id", error.message) from error
        return Place(document["id"], *document["location"]["wgs84"], document["address"]["full"])
    lat, lon = number(values, "lat", -90, 90, required=False), number(values, "long", -180, 180, required=False)
    address = (values.get("address_string") or "").strip()[:500] or None
    if (lat is None) != (lon is None):
        raise BadParameterError("lat" if lat is None else "long", "give lat and long together")
    if lat is not None and district_containing(db.session, lon, lat) is None:
        raise BadParameterError("lat", "this place is outside the jurisdiction")
    if lat is None and address is None:
        raise BadParameterError("address_id", "say where: address_id (a plate ID), lat and long, or address_string")
    return Place(None, lon, lat, address)


@bp.post("/requests.json")
def create_request():
    values = fields(request)
    _check_jurisdiction(values)
    user = _key_user(values)
    if user is None:
        raise AuthenticationError("an api_key is required to submit a request")
    kind = _kind(values.get("service_code"))
    media_url = (values.get("media_url") or "").strip() or None
    if media_url and not media_url.lower().startswith(("https://", "http://")):
        raise BadParameterError("media_url", "must be an http(s) URL")
    try:
        report = submit_report(db.session, audit.Actor(f"open311 ({user.username})", user.id), kind, _place(values),
                               values.get("description"), media_url=media_url, source=f"open311:{user.username}"[:32])
    except DataError as error:
        db.session.rollback()
        raise BadParameterError("description", error.message) from error
    db.session.commit()
    return jsonify([{"service_request_id": display_ticket(report.ticket),
                     "service_notice": "已受理，将由门牌管理部门处理", "account_id": None}]), 201


@bp.get("/requests.json")
def list_requests():
    _check_jurisdiction(request.args)
    full = _key_user(request.args) is not None
    query = select(ResidentReport)
    if request.args.get("service_request_id"):
        query = query.where(ResidentReport.ticket.in_(_tickets(request.args["service_request_id"])))
    else:
        end = _moment("end_date") or datetime.now(UTC)
        start = _moment("start_date") or end - timedelta(days=DEFAULT_DAYS)
        query = query.where(ResidentReport.created_at >= start, ResidentReport.created_at <= end)
        if request.args.get("service_code"):
            kinds = [_kind(code).value for code in request.args["service_code"].split(",")]
            query = query.where(ResidentReport.kind.in_(kinds))
        if request.args.get("status"):
            query = query.where(ResidentReport.status.in_(_statuses(request.args["status"])))
    reports = db.session.scalars(query.order_by(ResidentReport.created_at.desc()).limit(MAX_REQUESTS))
    return jsonify([_request(report, full) for report in reports])


@bp.get("/requests/<service_request_id>.json")
def one_request(service_request_id: str):
    _check_jurisdiction(request.args)
    full = _key_user(request.args) is not None
    ticket = parse_ticket(service_request_id)
    report = db.session.scalar(select(ResidentReport).where(ResidentReport.ticket == ticket))
    if report is None:
        return _errors(404, f"no request {service_request_id}")
    return jsonify([_request(report, full)])


def _tickets(text: str) -> list[str]:
    try:
        return [parse_ticket(part) for part in text.split(",")[:MAX_REQUESTS]]
    except NotFoundError as error:
        raise BadParameterError("service_request_id", error.message) from error


def _statuses(text: str) -> list[str]:
    chosen = {part.strip() for part in text.split(",") if part.strip()}
    if not chosen <= {"open", "closed"}:
        raise BadParameterError("status", "open, closed or both")
    return [s.value for s in ReportStatus if ("closed" if s in CLOSED else "open") in chosen]


def _moment(name: str) -> datetime | None:
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadParameterError(name, f"{text!r} is not a W3C date-time such as 2026-12-01T09:00:00+08:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(current_app.config["TIMEZONE"]))


def _request(report: ResidentReport, full: bool) -> dict:
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    answer = {
        "service_request_id": display_ticket(report.ticket),
        "status": "closed" if report.status in CLOSED else "open",
        "status_notes": report.public_notes,
        "service_name": STAFF["report_kinds"][report.kind],
        "service_code": report.kind,
        "agency_responsible": current_app.config["OPEN311_AGENCY"],
        "service_notice": None,
        "requested_datetime": as_utc(report.created_at).astimezone(zone).isoformat(timespec="seconds"),
        "updated_datetime": as_utc(report.updated_at).astimezone(zone).isoformat(timespec="seconds"),
        "expected_datetime": None,
        "address": report.address,
        "address_id": parse_plate_id(report.plate_id).display if report.plate_id else None,
        "zipcode": None,
        "lat": report.latitude,
        "long": report.longitude,
    }
    if full:
        answer["description"] = report.description
        answer["media_url"] = report.media_url
    return answer


def _errors(status: int, description: str, headers=()):
    return jsonify([{"code": status, "description": description}]), status, list(headers)


@bp.errorhandler(PlatesvcError)
def _domain_error(error: PlatesvcError):
    status = 403 if error.http_status == 401 else error.http_status  # GeoReport v2 answers a bad api_key 403
    return _errors(status, error.message)


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    return _errors(error.code, error.description,
                   [(name, value) for name, value in error.get_headers() if name != "Content-Type"])
