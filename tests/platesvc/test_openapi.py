"""The OpenAPI document: valid OpenAPI 3, and every path it documents answers as it says."""

import re

from openapi_spec_validator import validate
from sqlalchemy import select

from platesvc.database import db
from platesvc.models import Plate, ServicePoint


def test_the_document_is_valid_openapi(app, client):
    document = client.get("/api/v1/openapi.json").json
    validate(document)
    assert document["openapi"].startswith("3.")


def test_every_documented_path_answers_as_documented(issued_app, client):
    document = client.get("/api/v1/openapi.json").json
    examples = {"plate_id": db.session.scalar(select(Plate.id).limit(1)),
                "service_id": db.session.scalar(select(ServicePoint.id).limit(1)),
                "collectionId": "services", "featureId": db.session.scalar(select(ServicePoint.id).limit(1))}
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            examples.update({p["name"]: p["example"] for p in operation.get("parameters", [])
                             if p["in"] == "path" and "example" in p and p["name"] not in examples})
            url = re.sub(r"\{(\w+)\}", lambda m: str(examples[m.group(1)]), path)
            query = {p["name"]: p["example"] for p in operation.get("parameters", [])
                     if p["in"] == "query" and p.get("required")}
            answer = client.open(url, method=method.upper(), query_string=query)
            assert str(answer.status_code) in operation["responses"], (method, url, answer.status_code)
            assert answer.status_code < 300, (method, url, answer.status_code)


def test_the_api_can_be_browsed(app, client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and "GET /api/v1/nearby" in page.text and "openapi.json" in page.text
