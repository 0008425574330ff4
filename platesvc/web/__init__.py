"""Web blueprints and the one place domain errors become responses."""

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from platesvc.errors import PlatesvcError


def init_app(app: Flask) -> None:
    from platesvc.web import health

    app.register_blueprint(health.bp)
    app.register_error_handler(PlatesvcError, _domain_error)
    app.register_error_handler(HTTPException, _http_error)


def _domain_error(error: PlatesvcError):
    return jsonify(error=type(error).__name__, message=error.message), error.http_status


def _http_error(error: HTTPException):
    if request.accept_mimetypes.accept_html and not request.path.startswith(("/api/", "/healthz")):
        return error
    return jsonify(error=error.name, message=error.description), error.code
