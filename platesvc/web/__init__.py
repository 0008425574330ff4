"""Web blueprints and the one place domain errors become responses."""

import contextlib
import functools
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy.exc
from flask import Flask, current_app, jsonify, render_template, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_compress import Compress
from flask_cors import CORS
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError, ServiceUnavailable
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from platesvc import config as config_module
from platesvc import labels
from platesvc.errors import PlatesvcError
from platesvc.messages import Message
from platesvc.ops.metrics import process_metrics
from platesvc.reference.snapshot import ReferenceSnapshot
from platesvc.scan.resolve import Resolution, resolve_plate
from platesvc.store.database import db
from platesvc.store.models import as_utc
from platesvc.web import i18n
from platesvc.web.caching import GZIP_FROM_BYTES, Tagged
from platesvc.web.middleware import RequestWrapper
from platesvc.web.state import Worker, worker

# gzip alone: the cached plate bodies are kept gzipped, and every client that takes br takes gzip.
# Static files are streamed: Flask-Compress leaves gzip out of its streaming choices unless asked.
COMPRESSION = {"COMPRESS_ALGORITHM": "gzip", "COMPRESS_ALGORITHM_STREAMING": "gzip", "COMPRESS_LEVEL": 6,
               "COMPRESS_MIN_SIZE": GZIP_FROM_BYTES,
               "COMPRESS_MIMETYPES": ["text/html", "text/css", "text/javascript", "application/javascript",
                                      "application/json", "application/geo+json", "application/schema+json",
                                      "application/vnd.oai.openapi+json", "image/svg+xml",
                                      "application/vnd.mapbox-vector-tile", "text/csv", "text/plain"]}

SERVER_ERROR = Message("Something went wrong on our side. Please try again later; if you report it, quote the "
                       "request id.")
# Answered in JSON whatever the client accepts; elsewhere a browser gets a page.
JSON_PATHS = ("/api/", "/healthz", "/readyz", "/metrics", "/tiles/", "/ogc", "/open311/")
RETRY_AFTER_SECONDS = 5  # a PostgreSQL restart or a failover takes a few seconds
log = logging.getLogger(__name__)

# The public read APIs, as regular expressions of their paths (Flask-CORS's resources).
PUBLIC_READS = (r"/ogc(/.*)?", r"/tiles/.*", r"/api/v1/(plates/.*|nearby|search|reverse|route|openapi\.json)")



Result = TypeVar("Result")


def resolve(plate_text: str) -> Resolution:
    """Resolve a plate for this request, with this worker's reference snapshot."""
    config, references = current_app.config, worker().references
    return worker().reads.run_on(lambda engine: resolve_plate(engine, db.session, plate_text, config, references),
                                 primary=_from_staff())


def read_store(work: Callable[[Engine], Result]) -> Result:
    """`work` given the engine this request reads from: a replica's, unless staff ask (replicas.py)."""
    return worker().reads.run_on(work, primary=_from_staff())


def rendered(resolution: Resolution, *kind: str, render: Callable[[], str]) -> Tagged:
    """The resolution rendered as `kind` (say "html", "en"), from this worker's cache when made before."""
    return worker().renders.get(resolution.snapshot, (*kind, *resolution.source), render)


def local_time(moment: datetime | None) -> str:
    """A stored timestamp in the city's own time, to the minute (the `local` filter of every template)."""
    if moment is None:
        return ""
    return f"{as_utc(moment).astimezone(ZoneInfo(current_app.config['TIMEZONE'])):%Y-%m-%d %H:%M}"


def reference_snapshot() -> ReferenceSnapshot:
    """This worker's snapshot of the reference data, as the store holds it now."""
    return worker().reads.run_on(worker().references.current, primary=_from_staff())


def _from_staff() -> bool:
    """Whether a staff member (signed in, or with a token) asks: they read the primary, and so their own writes."""
    environ = request.environ
    return "HTTP_AUTHORIZATION" in environ or (
        "HTTP_COOKIE" in environ and current_app.config["SESSION_COOKIE_NAME"] in request.cookies)


# The pages a resident opens first, compiled before a worker takes its first request.
FIRST_TEMPLATES = ("plate.html", "map.html", "service.html", "route_to_service.html", "help.html")


def warm_up(app: Flask) -> None:
    """Compile the resident pages' templates and read the reference snapshot, so that a worker's first
    scan or map costs what every later one does (gunicorn calls it as each worker starts)."""
    with app.app_context():
        for name in FIRST_TEMPLATES:
            app.jinja_env.get_template(name)
        try:
            worker().reads.run_on(worker().references.current)
        except OperationalError as error:  # no database yet: the first request will say so
            log.warning("the reference snapshot was not read at start: %s", error)


def init_app(app: Flask) -> None:
    app.extensions["platesvc"] = Worker.for_app(app)
    app.extensions["platesvc.warm_up"] = functools.partial(warm_up, app)  # gunicorn's post_worker_init calls it
    i18n.init_app(app)
    from platesvc.ops import rate_limits
    from platesvc.web import api, health, ogc, open311, openapi, staff, static_files, tiles
    from platesvc.web.resident import pages, reports
    from platesvc.web.staff import api as staff_api

    app.url_map.converters["int"] = BoundedInteger  # before any route is added
    app.add_template_filter(local_time, "local")
    openapi.init_app(app, [health.bp, api.bp, ogc.bp, tiles.bp, pages.bp, reports.bp, open311.bp, staff_api.bp])
    staff.init_app(app)
    rate_limits.init_app(app, open311_client=open311.client_account)
    app.before_request_funcs.setdefault(None, []).insert(0, _check_host_port)  # before any other hook
    app.register_error_handler(PlatesvcError, _domain_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InternalServerError, _server_error)
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(sqlalchemy.exc.DataError, _unstorable)
    app.session_interface = CookieOnDemandSessions()
    for setting, value in COMPRESSION.items():
        app.config.setdefault(setting, value)
    Compression(app)
    # Web maps on other origins read the public APIs; the staff API and pages stay same-origin.
    CORS(app, resources={path: {"origins": app.config["CORS_ORIGINS"].split(",")} for path in PUBLIC_READS},
         methods=["GET", "HEAD", "OPTIONS"], expose_headers=["ETag", "Link", "Content-Crs"], max_age=86400,
         send_wildcard=True)
    static_files.init_app(app)  # WhiteNoise, inside the wrapper: static answers get its headers and log lines
    wsgi = RequestWrapper(app.wsgi_app, process_metrics() if app.config["METRICS_ENABLED"] else None,
                          app.config["ACCESS_LOG"])
    if app.config["TRUSTED_PROXIES"]:  # outside, so the wrapper sees the client's scheme (for HSTS)
        proxies = app.config["TRUSTED_PROXIES"]
        wsgi = ProxyFix(wsgi, x_for=proxies, x_proto=proxies, x_host=proxies)
    app.wsgi_app = wsgi


class Compression(Compress):
    """Flask-Compress, for clients that take gzip (1.25 compresses even for "gzip;q=0"), on what
    is not compressed already (a cached plate body goes out gzipped as it is kept)."""

    def after_request(self, response):
        if ("HTTP_ACCEPT_ENCODING" not in request.environ or request.accept_encodings["gzip"] <= 0
                or "Content-Encoding" in response.headers):
            return response
        return super().after_request(response)


class BoundedInteger(IntegerConverter):
    """`<int:…>` of at most 18 digits: a longer one is no route (404), not a conversion that fails (500)."""

    regex = r"\d{1,18}"


class CookieOnDemandSessions(SecureCookieSessionInterface):
    """Signed-cookie sessions whose signer is built only when a request brings a cookie.

    Residents never have one; building the signer anyway costs a scan a tenth of its time.
    """

    def open_session(self, app: Flask, request):
        if "HTTP_COOKIE" not in request.environ or self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)


def _check_host_port() -> None:
    """Refuse a Host whose port the service is not served on: links are written with the host a request came by,
    and werkzeug's trusted hosts check its name alone."""
    if not config_module.host_port_allowed(request.host, current_app.config):
        raise BadRequest(Message("This address is not one the service is served at: use its public address."))


def _domain_error(error: PlatesvcError):
    headers = {"WWW-Authenticate": 'Bearer realm="platesvc staff"'} if error.http_status == 401 else {}
    return jsonify(error=type(error).__name__, message=error.message, **error.details()), error.http_status, headers


def _wants_page() -> bool:
    return request.accept_mimetypes.accept_html and not request.path.startswith(JSON_PATHS)


def _http_error(error: HTTPException):
    # No route matched, or no such method: an OGC or Open311 client still gets its shape of error.
    if request.path == "/ogc" or request.path.startswith("/ogc/"):
        from platesvc.web import ogc
        return ogc.http_error(error)
    if request.path.startswith("/open311/"):
        from platesvc.web import open311
        return open311.http_error(error)
    headers = [(name, value) for name, value in error.get_headers() if name != "Content-Type"]
    # werkzeug's own descriptions are English sentences for developers: a page says ours, in its reader's language.
    said = error.description if isinstance(error.description, Message) else None
    if _wants_page():
        return render_template("error.html", code=error.code, description=said or labels.HTTP_DESCRIPTIONS.get(
            error.code, labels.HTTP_DESCRIPTIONS[400]), back=_way_back()), error.code, headers
    return jsonify(error=error.name, message=str(error.description)), error.code, headers


def _way_back() -> str:
    """Where an error page's way back leads: the staff pages' start for staff, else the page the reader came from."""
    if request.path.startswith("/staff"):
        return url_for("staff.plates.dashboard")
    referrer = request.referrer or ""
    return referrer if referrer.startswith(request.host_url) else url_for("pages.plate_map")


def _database_unavailable(error: OperationalError):
    """The database cannot be reached (or is locked, or restarting): a 503 the client may retry, in the
    shape of the blueprint that was asked (OGC, Open311, a page), and the cause in the log."""
    log.error("database unavailable: %s", error.orig if error.orig is not None else error)
    with contextlib.suppress(SQLAlchemyError):  # the connection may be gone already
        db.session.rollback()
    return current_app.handle_http_exception(ServiceUnavailable(
        Message("The database cannot be reached just now: try again shortly."), retry_after=RETRY_AFTER_SECONDS))


def _unstorable(error: sqlalchemy.exc.DataError):
    """A value the database refuses as data (a NUL in text, a number out of its column's range): the
    request's fault, a 400 in the blueprint's shape, whatever form or field brought it."""
    log.warning("refused by the database as data: %s", error.orig)
    with contextlib.suppress(SQLAlchemyError):
        db.session.rollback()
    return current_app.handle_http_exception(BadRequest(Message(
        "A value sent cannot be stored (a NUL character, or a number out of range): correct it and send again.")))


def _server_error(error: InternalServerError):
    """Never a stack trace to the client: the request id instead, which finds it in the log."""
    rid = request.environ.get("platesvc.request_id", "-")
    if _wants_page():
        return render_template("error.html", code=500, request_id=rid, description=SERVER_ERROR, back=_way_back()), 500
    return jsonify(error="Internal Server Error", request_id=rid, message=str(SERVER_ERROR)), 500
