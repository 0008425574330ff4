"""The OpenAPI document: valid OpenAPI 3, and every path it documents answers as it says."""

import re

from openapi_spec_validator import validate
from sqlalchemy import select

from platesvc.registry.audit import RESIDENT
from platesvc.staff import reports
from platesvc.staff.reports import EXAMPLE_TICKET
from platesvc.store.database import db
from platesvc.store.models import Plate, Role, ServicePoint


def test_the_document_is_valid_openapi(app, client):
    document = client.get("/api/v1/openapi.json").json
    validate(document)
    assert document["openapi"].startswith("3.")


def test_every_documented_path_answers_as_documented(issued_app, client, tokens):
    """Reading operations answer success with real examples; writing ones (sent empty) answer a documented refusal."""
    document = client.get("/api/v1/openapi.json").json
    plate_id = db.session.scalar(select(Plate.id).limit(1))
    report = reports.submit_report(db.session, RESIDENT, "plate_damaged", reports.Place(plate_id, None, None, None))
    db.session.commit()
    ticket = reports.display_ticket(report.ticket)
    examples = {"plate_text": plate_id, "service_id": db.session.scalar(select(ServicePoint.id).limit(1)),
                "collectionId": "services", "featureId": db.session.scalar(select(ServicePoint.id).limit(1)),
                "ticket": ticket, "service_request_id": ticket}
    for path, methods in document["paths"].items():
        for method, operation in _operations(methods):
            parameters = methods.get("parameters", []) + operation.get("parameters", [])
            examples.update({p["name"]: p["example"] for p in parameters
                             if p["in"] == "path" and "example" in p and p["name"] not in examples})
            url = re.sub(r"\{(\w+)\}", lambda m: str(examples[m.group(1)]), path)
            query = {p["name"]: p["schema"]["example"] for p in parameters if p["in"] == "query" and p.get("required")}
            headers = {"Authorization": f"Bearer {tokens[Role.ADMIN]}"} if operation.get("security") else {}
            answer = client.open(url, method=method.upper(), query_string=query, headers=headers)
            assert str(answer.status_code) in operation["responses"], (method, url, answer.status_code)
            if method == "get":  # a page, or a redirect to one
                assert answer.status_code < 400, (method, url, answer.status_code)
            else:
                assert 400 <= answer.status_code < 500, (method, url, answer.status_code)


def test_the_api_can_be_browsed(app, client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and "GET /api/v1/nearby" in page.text and "openapi.json" in page.text


def test_every_public_route_is_documented(app):
    """Every route but the staff pages and static files is in the document, with each method it takes."""
    document = app.test_client().get("/api/v1/openapi.json").json
    documented = {(re.sub(r"\{(\w+)\}", "<>", path), method.upper())
                  for path, methods in document["paths"].items() for method, _ in _operations(methods)}
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule.startswith("/staff"):
            continue
        # /p/… is the same page as /P/… (QR codes carry upper case, people type lower); /ogc/ is /ogc
        path = re.sub(r"<[^>]+>", "<>", rule.rule)
        aliases = {path, path.replace("/p/", "/P/", 1) if path.startswith("/p/<>") else path, path.rstrip("/")}
        missing += [(rule.rule, method) for method in rule.methods - {"HEAD", "OPTIONS"}
                    if not any((alias, method) in documented for alias in aliases)]
    assert not missing


def test_every_documented_query_parameter_is_accepted(issued_app, client, tokens):
    """Each documented query parameter of every operation, given a value its schema allows, is taken: no refusal
    names it (a write sent without its body is refused for the body, or for its precondition)."""
    document = client.get("/api/v1/openapi.json").json
    plate_id = db.session.scalar(select(Plate.id).limit(1))
    db.session.rollback()
    paths = {"plate_text": plate_id, "ticket": EXAMPLE_TICKET, "service_request_id": EXAMPLE_TICKET,
             "collectionId": "services", "featureId": "1", "layer_name": "roads", "service_code": "plate_damaged",
             "service_id": "1", "z": "8", "x": "203", "y": "98", "format": "json",
             "fontstack": "Noto Sans CJK SC Regular", "glyph_range": "0-255"}
    headers = {"Authorization": f"Bearer {tokens[Role.ADMIN]}"}
    checked = 0
    for path, methods in document["paths"].items():
        for method, operation in _operations(methods):
            parameters = [p for p in operation.get("parameters", []) if p["in"] == "query"]
            required = {p["name"]: _allowed(p["schema"]) for p in parameters if p.get("required")}
            url = _filled(path, paths)
            for parameter in parameters:
                query = {**required, parameter["name"]: _allowed(parameter["schema"])}
                answer = client.open(url, method=method.upper(), query_string=query, headers=headers)
                assert not (answer.status_code == 400 and parameter["name"] in answer.text), (path, query, answer.text)
                checked += 1
    assert checked > 30


def _filled(path: str, values: dict) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)


def _operations(methods: dict):
    return [(method, operation) for method, operation in methods.items() if method != "parameters"]


def _allowed(schema: dict) -> str:
    """A value the parameter's schema allows, as a query string carries it."""
    if "example" in schema:
        example = schema["example"]
        return ",".join(map(str, example)) if isinstance(example, list) else str(example)
    if schema.get("type") == "array":
        return _allowed(schema["items"])
    if "enum" in schema:
        return str(schema["enum"][-1])
    if schema.get("format") == "date-time":
        return "2026-12-01T09:00:00+08:00"
    if schema.get("type") in ("integer", "number"):
        return str(schema.get("minimum", 1))
    return "1"
