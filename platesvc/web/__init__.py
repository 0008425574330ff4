"""Web blueprints and the one place domain errors become responses."""

from flask import Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from platesvc.database import db
from platesvc.errors import PlatesvcError
from platesvc.reference_data import ReferenceCache, ReferenceSnapshot
from platesvc.resolve import Resolution, resolve_plate


def resolve(plate_text: str) -> Resolution:
    """Resolve a plate for this request, with this worker's reference snapshot."""
    return resolve_plate(db.engine, db.session, plate_text, current_app.config,
                         current_app.extensions["platesvc_references"])


def reference_snapshot() -> ReferenceSnapshot:
    """This worker's snapshot of the reference data, at the database's generation now."""
    return current_app.extensions["platesvc_references"].current(db.engine)


def init_app(app: Flask) -> None:
    app.extensions["platesvc_references"] = ReferenceCache()
    from platesvc.web import api, health, ogc, openapi, pages, tiles

    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(ogc.bp)
    app.register_blueprint(tiles.bp)
    app.register_blueprint(pages.bp)
    app.register_error_handler(PlatesvcError, _domain_error)
    app.register_error_handler(HTTPException, _http_error)
    app.after_request(_security_headers)


# Everything comes from this host; no inline script or style anywhere. The map's library
# starts its workers from blob: URLs of its own module, and draws tiles into blob: images.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; worker-src 'self' blob:; style-src 'self'; "
                           "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
                           "form-action 'self'; frame-ancestors 'none'")


def _security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")  # a plate's URL says which door was scanned
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def _domain_error(error: PlatesvcError):
    return jsonify(error=type(error).__name__, message=error.message, **error.details()), error.http_status


def _http_error(error: HTTPException):
    if request.accept_mimetypes.accept_html and not request.path.startswith(("/api/", "/healthz", "/tiles/")):
        return error
    return jsonify(error=error.name, message=error.description), error.code
