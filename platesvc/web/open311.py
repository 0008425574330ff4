"""Open311 GeoReport v2: city 12345 systems send residents' reports and read their status.

Every resource comes as `.json` or `.xml` (the spec's two formats), errors too; `discovery`
says where and in what.

Service codes are the report kinds. POST /requests.json needs an `api_key`: an API
token of any staff user (an account made for the 12345 system). A report may name its
plate as `address_id` (the plate ID: the city's address key), or give lat/long or an
address. Personal fields (email, phone, first_name, last_name, device_id, account_id)
are accepted and dropped: nothing about the resident is kept. Without a key, reading
gives every field but the description and the photo URL.
"""

from datetime import UTC, datetime, timedelta
from xml.etree.ElementTree import Element, tostring
from zoneinfo import ZoneInfo

from flask import Response, current_app, jsonify, request, url_for
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select
from webargs.fields import DelimitedList
from werkzeug.exceptions import HTTPException

from platesvc import labels
from platesvc.errors import (
    AuthenticationError,
    BadParameterError,
    DataError,
    NotFoundError,
    PlatesvcError,
    RetiredPlateError,
    UnknownPlateError,
)
from platesvc.messages import Message
from platesvc.registry import audit
from platesvc.staff import accounts
from platesvc.staff.reports import (
    CLOSED,
    EXAMPLE_TICKET,
    MAX_DESCRIPTION,
    Place,
    display_ticket,
    parse_ticket,
    submit_report,
)
from platesvc.store.database import db
from platesvc.store.models import ReportKind, ReportStatus, ResidentReport, User, as_utc
from platesvc.store.spatial import district_containing
from platesvc.web import resolve
from platesvc.web.openapi import Blueprint
from platesvc.web.parameters import Choice, Decimal, Form, Moment, Text
from platesvc.web.staff import bearer_secret


class Open311Error(Schema):
    code = fields.Integer(required=True)
    description = fields.String(required=True)


XML = "text/xml"
bp = Blueprint("open311", __name__, url_prefix="/open311/v2", errors=Open311Error(many=True), also_as=XML,
               description="Open311 GeoReport v2: residents' reports for the city's 12345 system")
FORMAT = {"in": "path", "name": "format", "example": "json", "schema": {"type": "string", "enum": ["json", "xml"]},
          "description": "json or xml"}
# In XML a list is an element of elements named for one of its items.
ITEMS = {"services": "service", "service_requests": "request", "errors": "error", "endpoints": "endpoint",
         "formats": "format", "attributes": "attribute"}
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-04T00:00:00Z"  # when what this endpoint offers last changed
DEFAULT_DAYS = 90
MAX_REQUESTS = 1000
DESCRIPTIONS = {
    ReportKind.PLATE_DAMAGED: Message("The plate or its QR code is damaged, hard to read or does not scan"),
    ReportKind.PLATE_MISSING: Message("The plate is missing or was never put up"),
    ReportKind.PLATE_WRONG: Message("The road name or door number on the plate is not what is there"),
    ReportKind.INFO_WRONG: Message("The officer, a service point or the culture notes on the scan page are wrong"),
}
KEYWORDS, GROUP = Message("door plate,QR code"), Message("Door plates")
RECEIVED = Message("Received: the door plate office will handle it")


def _served(given: str) -> None:
    if given and given != current_app.config["OPEN311_JURISDICTION"]:
        raise ValidationError([Message("this endpoint serves %(jurisdiction)s",
                                      jurisdiction=current_app.config["OPEN311_JURISDICTION"])])


def _web_address(given: str) -> None:
    if given.strip() and not given.strip().lower().startswith(("https://", "http://")):
        raise ValidationError([Message("must be an http(s) URL")])


class Ticket(Text):
    """A report's ticket, in any spelling a resident might read it out."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"example": EXAMPLE_TICKET, **kwargs.pop("metadata", {})}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        try:
            return parse_ticket(super()._deserialize(value, attr, data, **kwargs))
        except NotFoundError as error:
            raise ValidationError([error.words]) from error


class Jurisdiction(Form):
    jurisdiction_id = Text(validate=_served, metadata={"setting": "OPEN311_JURISDICTION", "description":
                                                       "Optional; this endpoint serves one jurisdiction"})


class Keyed(Jurisdiction):
    api_key = Text(metadata={"description": "A staff API token: with it, descriptions and photo links are included"})


class RequestsQuery(Keyed):
    service_request_id = DelimitedList(Ticket(), metadata={"description": "Tickets, comma-separated"})
    service_code = DelimitedList(Choice(ReportKind))
    start_date = Moment()
    end_date = Moment()
    status = DelimitedList(Choice(["open", "closed"]), metadata={"description": "open, closed or both"})


class NewRequest(Keyed):
    """A report; the personal fields GeoReport allows (email, phone, names, device and account) are dropped."""

    service_code = Choice(ReportKind, required=True)
    address_id = Text(metadata={"description": "A plate ID"})
    lat = Decimal(-90, 90)
    long = Decimal(-180, 180)
    address_string = Text(max_length=500)
    description = Text(max_length=MAX_DESCRIPTION)
    media_url = Text(validate=_web_address)


class Open311Service(Schema):
    service_code = fields.String(required=True)
    service_name = fields.String(required=True)
    description = fields.String()
    metadata = fields.Boolean()
    type = fields.String()
    keywords = fields.String()
    group = fields.String()


class Open311Definition(Schema):
    service_code = fields.String(required=True)
    attributes = fields.List(fields.Dict(), required=True)


class Open311Request(Schema):
    service_request_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["open", "closed"]))
    status_notes = fields.String(allow_none=True)
    service_name = fields.String()
    service_code = fields.String(required=True)
    description = fields.String(allow_none=True)
    agency_responsible = fields.String(allow_none=True)
    service_notice = fields.String(allow_none=True)
    requested_datetime = fields.String(required=True)
    updated_datetime = fields.String()
    expected_datetime = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    address_id = fields.String(allow_none=True)
    zipcode = fields.String(allow_none=True)
    lat = fields.Float(allow_none=True)
    long = fields.Float(allow_none=True)
    media_url = fields.String(allow_none=True)


class Open311Endpoint(Schema):
    specification = fields.String(required=True)
    url = fields.String(required=True)
    changeset = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf(["production", "test"]))
    formats = fields.List(fields.String(), required=True)


class Open311Discovery(Schema):
    changeset = fields.String(required=True)
    contact = fields.String(required=True)
    key_service = fields.String(required=True)
    endpoints = fields.List(fields.Nested(Open311Endpoint), required=True)


class Open311Received(Schema):
    service_request_id = fields.String(required=True)
    service_notice = fields.String()
    account_id = fields.String(allow_none=True)


SERVICE_CODE = {"in": "path", "name": "service_code", "example": "plate_damaged"}
REQUEST_ID = {"in": "path", "name": "service_request_id", "example": EXAMPLE_TICKET}


def _key_user(values) -> User | None:
    """The staff user behind `api_key` (or a Bearer token), None without one; a wrong key is an error."""
    key = _key(values)
    if not key:
        return None
    user, _ = accounts.user_for_token(db.session, key)
    return user


def _key(values) -> str:
    """The API key a request sends: `api_key` among `values`, else a Bearer token; "" for none."""
    given = values.get("api_key")
    return (given.strip() if isinstance(given, str) else "") or bearer_secret(request.headers.get("Authorization", ""))


def client_account() -> str | None:
    """The account a request authenticates as, for its rate limit: the key read as `_key_user` reads it,
    from the form, a JSON body or the header; None for no key or a wrong one."""
    body = request.get_json(silent=True) if request.is_json else None
    key = _key(body if isinstance(body, dict) else request.form)
    try:
        return f"user:{accounts.user_for_token(db.session, key)[0].id}" if key else None
    except AuthenticationError:
        return None


@bp.get("/discovery.<any(json, xml):format>", parameters=[FORMAT])
@bp.answers(200, Open311Discovery, "Where the endpoint is and what it speaks")
@bp.refuses(404, "Neither json nor xml")
def discovery(format: str):
    """Service discovery: this endpoint, its specification and formats."""
    return _answer({"changeset": CHANGESET, "contact": current_app.config["OPEN311_AGENCY"],
                    "key_service": "api_key: a staff API token from the city's plate office", "endpoints": [{
                        "specification": SPECIFICATION, "url": url_for("open311.discovery", format=format,
                                                                       _external=True).rsplit("/", 1)[0],
                        "changeset": CHANGESET, "type": "production", "formats": [XML, "application/json"]}]},
                   "discovery")


@bp.get("/services.<any(json, xml):format>", parameters=[FORMAT])
@bp.arguments(Jurisdiction, location="query", as_kwargs=True)
@bp.answers(200, Open311Service(many=True), "The kinds of report taken")
@bp.refuses(404, "Neither json nor xml")
def services(format: str, **_jurisdiction):
    """The kinds of report taken."""
    return _answer([{"service_code": kind.value, "service_name": str(labels.REPORT_KINDS[kind]),
                     "description": str(Message("%(kind)s: %(description)s",
                                                kind=labels.REPORT_KINDS_FOR_RESIDENTS[kind],
                                                description=DESCRIPTIONS[kind])),
                     "metadata": False, "type": "realtime", "keywords": str(KEYWORDS), "group": str(GROUP)}
                    for kind in ReportKind], "services")


@bp.get("/services/<service_code>.<any(json, xml):format>", parameters=[SERVICE_CODE, FORMAT])
@bp.arguments(Jurisdiction, location="query", as_kwargs=True)
@bp.answers(200, Open311Definition, "The definition")
@bp.refuses(404, "No such service, or neither json nor xml")
def service_definition(service_code: str, format: str, **_jurisdiction):
    """A service's definition (no extra attributes)."""
    if service_code not in set(ReportKind):
        raise NotFoundError("There is no service %(service)s: the services are %(services)s.",
                            service=repr(service_code), services=list(ReportKind))
    return _answer({"service_code": service_code, "attributes": []}, "service_definition")


def _place(values: dict) -> Place:
    """Where the report is about: the plate named as address_id, else lat/long, else the address text."""
    if values.get("address_id"):
        try:
            document = resolve(values["address_id"]).document
        except (UnknownPlateError, RetiredPlateError) as error:
            raise BadParameterError("address_id", error.words) from error
        return Place(document["id"], *document["location"]["wgs84"], document["address"]["full"])
    lat, lon = values.get("lat"), values.get("long")
    address = (values.get("address_string") or "").strip() or None
    if (lat is None) != (lon is None):
        raise BadParameterError("lat" if lat is None else "long", "give lat and long together")
    if lat is not None and district_containing(db.session, lon, lat) is None:
        raise BadParameterError("lat", "this place is outside the jurisdiction")
    if lat is None and address is None:
        raise BadParameterError("address_id", "say where: address_id (a plate ID), lat and long, or address_string")
    return Place(None, lon, lat, address)


@bp.post("/requests.<any(json, xml):format>", parameters=[FORMAT])
@bp.arguments(NewRequest, location="json_or_form")
@bp.answers(201, Open311Received(many=True), "Received")
@bp.refuses(404, "Neither json nor xml")
@bp.refuses(403, "No api_key, or a wrong one")
@bp.refuses(429, "Too many requests from this client; Retry-After says when to try again")
def create_request(values: dict, format: str):
    """Submit a report (api_key required; personal fields are dropped)."""
    user = _key_user(values)
    if user is None:
        raise AuthenticationError("an api_key is required to submit a request")
    try:
        report = submit_report(db.session, audit.Actor(f"open311 ({user.username})", user.id),
                               ReportKind(values["service_code"]), _place(values), values.get("description"),
                               media_url=(values.get("media_url") or "").strip() or None,
                               source=f"open311:{user.username}"[:32])
    except DataError as error:
        db.session.rollback()
        raise BadParameterError("description", error.words) from error
    db.session.commit()
    return _answer([{"service_request_id": display_ticket(report.ticket),
                     "service_notice": str(RECEIVED), "account_id": None}], "service_requests", 201)


@bp.get("/requests.<any(json, xml):format>", parameters=[FORMAT])
@bp.arguments(RequestsQuery, location="query")
@bp.answers(200, Open311Request(many=True), "Requests, newest first")
@bp.refuses(404, "Neither json nor xml")
@bp.refuses(403, "A wrong api_key")
def list_requests(asked: dict, format: str):
    """Reports by ticket, or by date, kind and status (the last 90 days by default)."""
    full = _key_user(asked) is not None
    query = select(ResidentReport)
    if asked.get("service_request_id"):
        query = query.where(ResidentReport.ticket.in_(asked["service_request_id"][:MAX_REQUESTS]))
    else:
        # In UTC, as stored: SQLite would compare the local time's digits and drop the offset.
        end = (asked.get("end_date") or datetime.now(UTC)).astimezone(UTC)
        start = (asked.get("start_date") or end - timedelta(days=DEFAULT_DAYS)).astimezone(UTC)
        query = query.where(ResidentReport.created_at >= start, ResidentReport.created_at <= end)
        if asked.get("service_code"):
            query = query.where(ResidentReport.kind.in_(asked["service_code"]))
        if asked.get("status"):
            chosen = set(asked["status"])
            query = query.where(ResidentReport.status.in_(
                [s.value for s in ReportStatus if ("closed" if s in CLOSED else "open") in chosen]))
    reports = db.session.scalars(query.order_by(ResidentReport.created_at.desc()).limit(MAX_REQUESTS))
    return _answer([_request(report, full) for report in reports], "service_requests")


@bp.get("/requests/<service_request_id>.<any(json, xml):format>", parameters=[REQUEST_ID, FORMAT])
@bp.arguments(Keyed, location="query")
@bp.answers(200, Open311Request(many=True), "The request")
@bp.refuses(403, "A wrong api_key")
@bp.refuses(404, "No such report, or neither json nor xml")
def one_request(asked: dict, service_request_id: str, format: str):
    """One report."""
    full = _key_user(asked) is not None
    ticket = parse_ticket(service_request_id)
    report = db.session.scalar(select(ResidentReport).where(ResidentReport.ticket == ticket))
    if report is None:
        return _errors(404, f"no request {service_request_id}")
    return _answer([_request(report, full)], "service_requests")


def _request(report: ResidentReport, full: bool) -> dict:
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    answer = {
        "service_request_id": display_ticket(report.ticket),
        "status": "closed" if report.status in CLOSED else "open",
        "status_notes": report.public_notes,
        "service_name": str(labels.REPORT_KINDS[report.kind]),
        "service_code": report.kind,
        "agency_responsible": current_app.config["OPEN311_AGENCY"],
        "service_notice": None,
        "requested_datetime": as_utc(report.created_at).astimezone(zone).isoformat(timespec="seconds"),
        "updated_datetime": as_utc(report.updated_at).astimezone(zone).isoformat(timespec="seconds"),
        "expected_datetime": None,
        "address": report.address,
        "address_id": report.plate_id,  # as it was posted: the canonical plate ID
        "zipcode": None,
        "lat": report.latitude,
        "long": report.longitude,
    }
    if full:
        answer["description"] = report.description
        answer["media_url"] = report.media_url
    return answer


def _answer(body, root: str, status: int = 200, headers=()) -> Response:
    """`body` (a list or an object) as JSON, or as XML under `root` when the path ends in .xml."""
    if (request.view_args or {}).get("format") != "xml":
        response = jsonify(body)
        response.status_code = status
        response.headers.extend(list(headers))
        return response
    document = b'<?xml version="1.0" encoding="utf-8"?>' + tostring(_element(root, body))
    return Response(document, status, list(headers), mimetype=XML)


def _element(tag: str, value) -> Element:
    element = Element(tag)
    if isinstance(value, dict):
        element.extend(_element(key, child) for key, child in value.items())
    elif isinstance(value, list):
        element.extend(_element(ITEMS[tag], child) for child in value)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:  # null is an empty element
        element.text = str(value)
    return element


def _errors(status: int, description: str, headers=()):
    return _answer([{"code": status, "description": description}], "errors", status, headers)


@bp.errorhandler(PlatesvcError)
def _domain_error(error: PlatesvcError):
    status = 403 if error.http_status == 401 else error.http_status  # GeoReport v2 answers a bad api_key 403
    return _errors(status, error.message)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    """Also the app's answer under /open311 where no route matched (web/__init__.py)."""
    return _errors(error.code, error.description,
                   [(name, value) for name, value in error.get_headers() if name != "Content-Type"])
