"""Web blueprints and the one place domain errors become responses."""

from collections.abc import Callable

from flask import Flask, current_app, jsonify, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import HTTPException

from platesvc.database import db
from platesvc.errors import PlatesvcError
from platesvc.features import Collection, CollectionIndex, FeatureCache
from platesvc.reference_data import ReferenceCache, ReferenceSnapshot
from platesvc.resolve import Resolution, resolve_plate
from platesvc.web.caching import RenderCache, Tagged


def resolve(plate_text: str) -> Resolution:
    """Resolve a plate for this request, with this worker's reference snapshot."""
    return resolve_plate(db.engine, db.session, plate_text, current_app.config,
                         current_app.extensions["platesvc_references"])


def rendered(resolution: Resolution, *kind: str, render: Callable[[], str]) -> Tagged:
    """The resolution rendered as `kind` (say "html", "en"), from this worker's cache when made before."""
    return current_app.extensions["platesvc_renders"].get(resolution.snapshot, (*kind, *resolution.source), render)


def feature_index(collection: Collection) -> CollectionIndex:
    """This worker's index of a feature collection, as the database holds it now."""
    return current_app.extensions["platesvc_features"].index(db.engine, collection)


def reference_snapshot() -> ReferenceSnapshot:
    """This worker's snapshot of the reference data, at the database's generation now."""
    return current_app.extensions["platesvc_references"].current(db.engine)


def init_app(app: Flask) -> None:
    app.extensions["platesvc_references"] = ReferenceCache()
    app.extensions["platesvc_features"] = FeatureCache(app.config)
    app.extensions["platesvc_renders"] = RenderCache(int(app.config["RENDER_CACHE_MB"] * 2 ** 20))
    from platesvc.web import api, health, ogc, openapi, pages, tiles

    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(ogc.bp)
    app.register_blueprint(tiles.bp)
    app.register_blueprint(pages.bp)
    app.register_error_handler(PlatesvcError, _domain_error)
    app.register_error_handler(HTTPException, _http_error)
    app.wsgi_app = SecurityHeaders(app.wsgi_app)
    app.session_interface = CookieOnDemandSessions()


# Everything comes from this host; no inline script or style anywhere. The map's library
# starts its workers from blob: URLs of its own module, and draws tiles into blob: images.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; worker-src 'self' blob:; style-src 'self'; "
                           "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
                           "form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),  # a plate's URL says which door was scanned
)
HSTS = ("Strict-Transport-Security", "max-age=31536000")


class SecurityHeaders:
    """WSGI middleware adding the security headers a response does not set itself.

    At the WSGI layer the headers are a plain list: looking each one up in a Response's
    Headers would cost a scan as much as its database read.
    """

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        secure = environ.get("wsgi.url_scheme") == "https"

        def start_with_headers(status, headers, exc_info=None):
            present = {name.lower() for name, _ in headers}
            headers.extend(header for header in (*SECURITY_HEADERS, *((HSTS,) if secure else ()))
                           if header[0].lower() not in present)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start_with_headers)


class CookieOnDemandSessions(SecureCookieSessionInterface):
    """Signed-cookie sessions whose signer is built only when a request brings a cookie.

    Residents never have one; building the signer anyway costs a scan a tenth of its time.
    """

    def open_session(self, app: Flask, request):
        if self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)


def _domain_error(error: PlatesvcError):
    return jsonify(error=type(error).__name__, message=error.message, **error.details()), error.http_status


def _http_error(error: HTTPException):
    if request.accept_mimetypes.accept_html and not request.path.startswith(("/api/", "/healthz", "/tiles/")):
        return error
    return jsonify(error=error.name, message=error.description), error.code
