"""Walking shown to residents and map clients, on every backend: the plate's services by walking distance and
time, the drawn route with its turns in words, /api/v1/route and nearby?by=walk, and their refusals."""

import re

import pytest
from sqlalchemy import select

from platesvc.store.database import db
from platesvc.store.models import Plate, StreetEdge


def _plates(count=5) -> list[str]:
    return db.session.scalars(select(Plate.id).order_by(Plate.id).limit(count)).all()


def test_the_plate_lists_each_service_by_walking_distance_and_time(issued_app, client):
    for plate_id in _plates():
        nearest = client.get(f"/api/v1/plates/{plate_id}").json["nearest"]
        for listed in nearest.values():
            keys = [(not entry["on_network"], entry["walk_m"]) for entry in listed]
            assert keys == sorted(keys)
            for entry in listed:
                assert entry["walk_m"] >= entry["distance_m"] - 0.1
                assert entry["walk_minutes"] == max(1, round(entry["walk_m"] / 50))  # 3 km/h: 50 m a minute
        page = client.get(f"/P/{plate_id}").text
        assert "步行" in page and "分钟" in page and "直线" in page
    english = client.get(f"/P/{_plates(1)[0]}?lang=en").text
    assert "min walk" in english and "straight line" in english


def test_the_route_page_draws_the_walk_and_says_its_turns(issued_app, client):
    plate_id = _plates(1)[0]
    service = client.get(f"/api/v1/plates/{plate_id}").json["nearest"]["elderly_care"][0]
    page = client.get(f"/P/{plate_id}/to/{service['id']}").text
    svg = re.search(r"<svg class=\"route\".*?</svg>", page, re.S).group(0)
    assert svg.count("<path") >= 2 and "<title" in svg  # the streets around and the route, with a name
    steps = re.findall(r"<li>(.*?)</li>", re.search(r'<ol class="steps">(.*?)</ol>', page, re.S).group(1))
    assert steps[0].startswith("沿") and "米" in steps[0] and steps[-1] == f"到达{service['name']}"
    assert f"步行 {service['walk_minutes']} 分钟" in page
    english = client.get(f"/P/{plate_id}/to/{service['id']}?lang=en").text
    assert "Along " in english and f"Arrive at {service['name']}" in english


def test_the_api_route_is_a_linestring_as_long_as_the_listed_walk(issued_app, client):
    for plate_id in _plates(3):
        nearest = client.get(f"/api/v1/plates/{plate_id}").json["nearest"]
        for entry in (listed[0] for listed in nearest.values() if listed):
            answer = client.get(f"/api/v1/route?from={plate_id}&to={entry['id']}")
            assert answer.status_code == 200 and answer.mimetype == "application/geo+json"
            feature = answer.json
            assert feature["geometry"]["type"] == "LineString" and len(feature["geometry"]["coordinates"]) >= 2
            properties = feature["properties"]
            assert properties["on_network"] == entry["on_network"]
            assert properties["walk_m"] == pytest.approx(entry["walk_m"], abs=1.0)
            assert properties["distance_m"] == pytest.approx(entry["distance_m"], abs=0.5)
            assert properties["steps"] and properties["speed_kmh"] == 3.0


def test_the_api_route_between_points_and_its_refusals(issued_app, client):
    edge = db.session.scalars(select(StreetEdge).order_by(StreetEdge.id).limit(1)).one()
    (x1, y1), (x2, y2) = edge.geom.coords[0], edge.geom.coords[-1]
    answer = client.get(f"/api/v1/route?from={x1:.7f},{y1:.7f}&to={x2:.7f},{y2:.7f}")
    assert answer.status_code == 200
    assert answer.json["properties"]["walk_m"] == pytest.approx(edge.length_m, rel=0.02)
    for query, parameter in [("from=nowhere&to=1", "from"), ("from=106.2,38.4&to=99999999", "to"),
                             ("from=1,2&to=²", "to"), ("from=200,38.4&to=1", "from"), ("to=1", "from"),
                             (f"from={x1},{y1}", "to")]:
        refused = client.get(f"/api/v1/route?{query}")
        assert refused.status_code == 400 and refused.json["parameter"] == parameter, query
    far = client.get(f"/api/v1/route?from=106.9,37.6&to={x2},{y2}")  # in the desert, kilometres from any street
    assert far.status_code == 422 and "from" in far.json["message"] and "500" in far.json["message"]
    chinese = client.get(f"/api/v1/route?from=106.9,37.6&to={x2},{y2}&lang=zh")
    assert "街道" in chinese.json["message"]


def test_nearby_by_walk_ranks_on_foot(issued_app, client):
    edge = db.session.scalars(select(StreetEdge).order_by(StreetEdge.id).offset(50).limit(1)).one()
    x, y = edge.geom.coords[0]
    answer = client.get(f"/api/v1/nearby?lon={x}&lat={y}&by=walk&limit=5")
    assert answer.status_code == 200
    features = answer.json["features"]
    assert len(features) == 5
    keys = [(not f["properties"]["on_network"], f["properties"]["walk_m"]) for f in features]
    assert keys == sorted(keys)
    assert all(f["properties"]["walk_m"] >= f["properties"]["distance_m"] - 0.1 for f in features)
    by_air = client.get(f"/api/v1/nearby?lon={x}&lat={y}&limit=5").json["features"]
    assert "walk_m" not in by_air[0]["properties"]
    assert client.get("/api/v1/nearby?lon=106.9&lat=37.6&by=walk").status_code == 422
    assert client.get(f"/api/v1/nearby?lon={x}&lat={y}&by=bus").json["parameter"] == "by"
