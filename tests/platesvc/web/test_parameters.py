"""Parameters declared once: each field reads what people and clients send, and refuses the rest by name."""

import json

import pytest
from marshmallow import Schema

from platesvc.errors import BadParameterError
from platesvc.store.models import Role
from platesvc.web.parameters import Choice, Decimal, Moment, Whole, parse


class Asked(Schema):
    limit = Whole(1, cut=100, load_default=10)
    offset = Whole(0, 1000)
    lon = Decimal(-180, 180)
    kind = Choice(["json", "geojson"], fold_case=True)
    since = Moment()


def _read(app, **query) -> dict:
    with app.test_request_context(query_string=query):
        return parse(Asked(), "query")


def _refusal(app, **query) -> BadParameterError:
    with pytest.raises(BadParameterError) as refused:
        _read(app, **query)
    return refused.value


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_numbers_are_read_in_ascii_or_full_width_digits(app):
    assert _read(app, limit="25", offset="０", lon="１０６．２８") == {"limit": 25, "offset": 0, "lon": 106.28}
    assert _read(app)["limit"] == 10
    assert _read(app, limit="", offset=" ") == {"limit": 10}  # a blank box is a box left empty
    assert _read(app, limit="99999999999999999999")["limit"] == 100  # a limit above the maximum is cut, not refused


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("name", "value"), [
    ("limit", "²"), ("limit", "١٢"), ("limit", "0"), ("limit", "1.5"), ("limit", "-3"), ("offset", "1001"),
    ("offset", "1e3"), ("lon", "nan"), ("lon", "1e400"), ("lon", "٣"), ("lon", "181"), ("lon", "east"),
    ("kind", "html"), ("since", "yesterday"),
])
def test_a_bad_value_is_refused_naming_its_parameter(app, name, value):
    refusal = _refusal(app, **{name: value})
    assert refusal.parameter == name and refusal.http_status == 400 and refusal.message.startswith(f"{name}: ")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_choices_fold_case_and_moments_take_the_city_time_zone(app):
    read = _read(app, kind="GeoJSON", since="2026-12-01T09:00:00")
    assert read["kind"] == "geojson"
    assert read["since"].utcoffset().total_seconds() == 8 * 3600  # Asia/Shanghai, the city's zone


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_body_that_is_not_a_json_object_is_refused_as_the_body(app, client, tokens):
    headers = {"Authorization": f"Bearer {tokens[Role.OPERATOR]}"}
    for body, content_type in [("[1, 2]", "application/json"), ("{not json", "application/json"),
                               ("status=installed", "application/x-www-form-urlencoded")]:
        answer = client.post("/api/v1/staff/plates/status", data=body, content_type=content_type, headers=headers)
        assert answer.status_code == 400 and answer.json["parameter"] == "body", (body, answer.json)
    misspelt = client.post("/api/v1/staff/plates/status", json={"status": "installed", "plates": ["x"], "resaon": "a"},
                           headers=headers)
    assert misspelt.status_code == 400 and misspelt.json["parameter"] == "resaon"
    nested = client.post("/api/v1/staff/plates/status", json={"status": "installed", "plates": [{"id": 1}]},
                         headers=headers)
    assert nested.status_code == 400 and nested.json["parameter"] == "plates"
    for unstorable in ("a\x00b", "a\ud800b"):  # JSON carries both; no database stores them
        answer = client.post("/api/v1/staff/plates/status", data=_json_text({"status": "installed", "plates": ["x"],
                                                                             "reason": unstorable}),
                             content_type="application/json", headers=headers)
        assert answer.status_code == 400 and answer.json["parameter"] == "reason"


def _json_text(body: dict) -> str:
    """JSON as a client may write it, lone surrogates and all (as \\ud800 escapes)."""
    return json.dumps(body)
