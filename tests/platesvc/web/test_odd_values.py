"""No odd value in any query parameter of any route is a 500: digits of other scripts, numbers too
large for a float, NaN, NUL, very long text. Every GET route is walked from the URL map (the staff
API's with a token); a parameter a route does not read must be harmless too."""

import itertools
import re

import pytest
from sqlalchemy import select

from platesvc.store.database import db
from platesvc.store.models import Plate, Role

ODD = ["²", "١٢", "1e400", "nan", "\x00", "1" * 400]
NAMES = ["limit", "offset", "bbox", "lon", "lat", "radius", "category", "after", "f", "days", "q", "status",
         "kind", "district", "road", "community", "service_request_id", "api_key", "start_date", "end_date",
         "ref", "lang", "datetime", "crs", "bbox-crs", "care", "next", "role"]


def _path(rule: str, plate_id: str) -> str:
    values = {"plate_text": plate_id, "featureId": plate_id, "collectionId": "plates", "layer_name": "plates",
              "z": "15", "x": "26063", "y": "12575", "filename": "map.js", "service_code": "plate_damaged"}
    return re.sub(r"<(?:[a-z]+:)?([A-Za-z_]+)>", lambda m: values.get(m.group(1), "1"), rule)


@pytest.mark.slow  # some 12,000 requests
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the parsing is the same on both
def test_no_odd_query_value_gets_a_500(issued_app, client, tokens):
    issued_app.config["PROPAGATE_EXCEPTIONS"] = False  # a bug answers 500, as in production
    plate_id = db.session.scalar(select(Plate.id).limit(1))
    db.session.rollback()
    staff = {"Authorization": f"Bearer {tokens[Role.ADMIN]}"}
    paths = sorted({_path(rule.rule, plate_id) for rule in issued_app.url_map.iter_rules() if "GET" in rule.methods})
    assert len(paths) > 50
    failed = [(path, name, value) for path, name, value in itertools.product(paths, NAMES, ODD)
              if client.get(path, query_string={name: value},
                            headers=staff if path.startswith("/api/v1/staff") else {}).status_code >= 500]
    assert not failed, failed[:20]
