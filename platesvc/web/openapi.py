"""The OpenAPI 3 document, derived from what each blueprint declares (flask-smorest), and a page to
browse it that needs no other host.

Every public route is on a `Blueprint` from here: its parameters are the schemas it reads them with,
its answers the schemas of what it returns. Views keep returning their own (often pre-encoded)
responses; the declarations document them, and refusals keep each standard's shape.
"""

from http import HTTPStatus

import flask_smorest
import orjson
from flask import Flask, Response, current_app, render_template
from marshmallow import Schema, fields
from werkzeug.routing import IntegerConverter

from platesvc.staff.reports import EXAMPLE_TICKET
from platesvc.web.parameters import parser

OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
HTML = {"type": "string"}
BEARER = [{"bearerAuth": []}]
# The path parameters several blueprints share.
PLATE_ID = {"in": "path", "name": "plate_text", "example": "640104000040",
            "description": "Any spelling of a plate ID: 640104-0A3KX-D, 6401040a3kxd …"}
TICKET = {"in": "path", "name": "ticket", "example": EXAMPLE_TICKET,
          "description": "A report's ticket, as the resident was given it"}


class Error(Schema):
    """Our refusals: what went wrong, the parameter it concerns, and what might have been meant."""

    error = fields.String(required=True)
    message = fields.String(required=True)
    parameter = fields.String()
    suggestions = fields.List(fields.String(), metadata={"description": "Real plates one character away"})
    id = fields.String()
    successor = fields.String(allow_none=True)
    request_id = fields.String()


class Api(flask_smorest.Api):
    """flask-smorest, documenting only: errors are answered by each blueprint in its standard's shape."""

    DEFAULT_ERROR_RESPONSE_NAME = None
    ERROR_SCHEMA = Error

    def _register_error_handlers(self):
        pass


class Blueprint(flask_smorest.Blueprint):
    """A blueprint whose declared parameters are read by our parser and whose refusals are documented in
    `errors`, the shape its clients expect."""

    ARGUMENTS_PARSER = parser
    # A body read as JSON or as a form is documented as the form (Open311's own encoding).
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {**flask_smorest.Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
                                             "json_or_form": "application/x-www-form-urlencoded"}

    def __init__(self, *args, errors: type[Schema] | Schema = Error, errors_type: str = "application/json",
                 also_as: str | None = None, **kwargs):
        """`also_as`: a second media type every answer and refusal may come in (Open311's XML)."""
        super().__init__(*args, **kwargs)
        self.errors, self.errors_type, self.also_as = errors, errors_type, also_as

    def arguments(self, schema, **kwargs):
        # One instance for every request: webargs would build a schema class afresh on each (77 µs for items).
        read = super().arguments(schema() if isinstance(schema, type) else schema, **kwargs)

        def decorator(view):
            return self.refuses(400, "A parameter is missing, malformed or out of range")(read(view))
        return decorator

    def refuses(self, status: int, description: str, schema=None):
        """Document a refusal this view gives, in the blueprint's error shape."""
        return self._also(status, self.alt_response(status, schema=schema or self.errors, description=description,
                                                    content_type=self.errors_type))

    def answers(self, status: int, schema=None, description: str | None = None, content_type: str | None = None,
                headers: dict | None = None):
        """Document an answer of the normal flow (the view builds it: often pre-encoded)."""
        return self._also(status, self.alt_response(
            status, schema=schema, description=description or HTTPStatus(status).phrase, content_type=content_type,
            headers=headers, success=True))

    def _also(self, status: int, documented):
        """`documented`, and the answer also in the blueprint's second media type if it has one."""
        if self.also_as is None:
            return documented
        also = self.doc(responses={status: {"content": {self.also_as: {"schema": {"type": "string"}}}}})
        return lambda view: also(documented(view))

    def page(self, status: int, description: str):
        """Document an HTML page as an answer."""
        return self.alt_response(status, schema=HTML, description=description, content_type="text/html",
                                 success=status < 400)


INFO = {"description": "QR door plates: resolve a plate, find services nearby, read the city's features "
                       "through OGC API - Features, report a problem"}
bp = Blueprint("openapi", __name__, url_prefix="/api/v1", description="This document")


def init_app(app: Flask, blueprints) -> None:
    """Register `blueprints` with the document (and the document's own)."""
    app.config.setdefault("API_TITLE", "platesvc")
    app.config.setdefault("API_VERSION", "1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    api = Api(app, spec_kwargs={"info": INFO})
    api.spec.components.security_scheme("bearerAuth", {
        "type": "http", "scheme": "bearer", "description": "A staff API token (platesvc tokens create)"})
    api.register_converter(type(app.url_map.converters["int"]), _whole_number)

    def configured(converter, field, **kwargs) -> dict:
        """A field whose one allowed value is a setting (metadata "setting") is documented with it."""
        setting = field.metadata.get("setting")
        return {"enum": [app.config[setting]]} if setting else {}
    api.ma_plugin.converter.add_attribute_function(configured)

    def serialised(converter, field, **kwargs) -> dict:
        """How a query parameter is written, where its field says (OGC's limit and datetime: form, not exploded)."""
        return {name: field.metadata[name] for name in ("style", "explode") if name in field.metadata}
    api.ma_plugin.converter.add_parameter_attribute_function(serialised)
    for blueprint in (*blueprints, bp):
        api.register_blueprint(blueprint)


def _whole_number(converter: IntegerConverter) -> dict:
    return {"type": "integer", "minimum": 0}


def document() -> dict:
    return current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()


def document_under(prefix: str, server: str) -> dict:
    """The part of the document under `prefix`, rooted there: its paths without the prefix and `server`
    as its one server (what an OGC client such as TEAM Engine reads from the landing page)."""
    whole = document()
    paths = {path.removeprefix(prefix) or "/": operations for path, operations in whole["paths"].items()
             if path == prefix or path.startswith(prefix + "/") and path != prefix + "/"}
    return {**whole, "servers": [{"url": server}], "paths": paths}


@bp.get("/openapi.json")
@bp.answers(200, {"type": "object"}, "OpenAPI 3", content_type=OPENAPI)
def openapi_json():
    """This document."""
    return Response(orjson.dumps(document()), mimetype=OPENAPI)


@bp.get("/docs")
@bp.page(200, "Every path, its parameters and answers")
def docs():
    """The document as a plain page."""
    return render_template("api_docs.html", api=document())
