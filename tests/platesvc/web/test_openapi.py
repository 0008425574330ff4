"""The OpenAPI document: valid OpenAPI 3, and every path it documents answers as it says."""

import re

from openapi_spec_validator import validate
from sqlalchemy import select

from platesvc.registry.audit import RESIDENT
from platesvc.staff import reports
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
    examples = {"plate_id": plate_id, "service_id": db.session.scalar(select(ServicePoint.id).limit(1)),
                "collectionId": "services", "featureId": db.session.scalar(select(ServicePoint.id).limit(1)),
                "ticket": ticket, "service_request_id": ticket}
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            examples.update({p["name"]: p["example"] for p in operation.get("parameters", [])
                             if p["in"] == "path" and "example" in p and p["name"] not in examples})
            url = re.sub(r"\{(\w+)\}", lambda m: str(examples[m.group(1)]), path)
            query = {p["name"]: p["example"] for p in operation.get("parameters", [])
                     if p["in"] == "query" and p.get("required")}
            headers = {"Authorization": f"Bearer {tokens[Role.ADMIN]}"} if operation.get("security") else {}
            answer = client.open(url, method=method.upper(), query_string=query, headers=headers)
            assert str(answer.status_code) in operation["responses"], (method, url, answer.status_code)
            if method == "get":
                assert answer.status_code < 300, (method, url, answer.status_code)
            else:
                assert 400 <= answer.status_code < 500, (method, url, answer.status_code)


def test_the_api_can_be_browsed(app, client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and "GET /api/v1/nearby" in page.text and "openapi.json" in page.text
