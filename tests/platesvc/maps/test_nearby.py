"""Nearby services on every backend, checked against brute force, and its refusals."""

import numpy as np
import pytest
from sqlalchemy import select, text

from gis.nearest import geodesic_distance
from platesvc.store.database import db
from platesvc.store.models import ServicePoint

ORIGINS = [(106.2781, 38.4702), (106.1502, 38.5003), (106.3601, 38.2504), (105.9002, 38.6001)]


def _brute_force(lon, lat, category=None):
    services = db.session.execute(select(ServicePoint.id, ServicePoint.category, ServicePoint.geom)).all()
    services = [s for s in services if category is None or s.category == category]
    distance = geodesic_distance(np.full(len(services), lon), np.full(len(services), lat),
                                 [s.geom.x for s in services], [s.geom.y for s in services])
    order = np.lexsort(([s.id for s in services], distance))
    return [(services[i].id, float(distance[i])) for i in order]


@pytest.mark.parametrize("category", [None, "elderly_care", "assistance_station"])
def test_the_k_nearest_match_brute_force(seeded_app, client, category):
    for lon, lat in ORIGINS:
        query = f"/api/v1/nearby?lon={lon}&lat={lat}&limit=5" + (f"&category={category}" if category else "")
        answer = client.get(query)
        assert answer.status_code == 200
        features = answer.json["features"]
        expected = [item for item in _brute_force(lon, lat, category) if item[1] <= 50_000][:5]
        assert [f["id"] for f in features] == [i for i, _ in expected]
        assert [f["properties"]["distance_m"] for f in features] == pytest.approx([d for _, d in expected], abs=0.1)
        assert all(category is None or f["properties"]["category"] == category for f in features)


def test_a_radius_gives_everything_within_it_nearest_first(seeded_app, client):
    for lon, lat in ORIGINS:
        answer = client.get(f"/api/v1/nearby?lon={lon}&lat={lat}&radius=3000&limit=100").json
        expected = [item for item in _brute_force(lon, lat) if item[1] <= 3000]
        assert [f["id"] for f in answer["features"]] == [i for i, _ in expected]
        assert answer["numberReturned"] == len(expected)
    first = client.get(f"/api/v1/nearby?lon={ORIGINS[0][0]}&lat={ORIGINS[0][1]}").json["features"][0]
    assert first["geometry"]["type"] == "Point" and first["properties"]["navigation"]["amap"].startswith("https://")


@pytest.mark.parametrize(("query", "parameter"), [
    ("lat=38.4", "lon"), ("lon=106.2", "lat"), ("lon=abc&lat=38.4", "lon"), ("lon=200&lat=38.4", "lon"),
    ("lon=106.2&lat=-91", "lat"), ("lon=106.2&lat=38.4&radius=1e9", "radius"),
    ("lon=106.2&lat=38.4&radius=-5", "radius"), ("lon=106.2&lat=38.4&limit=0", "limit"),
    ("lon=106.2&lat=38.4&category=bakery", "category"), ("lon=nan&lat=38.4", "lon"),
])
def test_bad_parameters_are_400_naming_the_parameter(app, client, query, parameter):
    answer = client.get(f"/api/v1/nearby?{query}")
    assert answer.status_code == 400
    assert answer.json["parameter"] == parameter and answer.json["message"].startswith(parameter)


def test_a_huge_limit_is_capped(seeded_app, client):
    answer = client.get("/api/v1/nearby?lon=106.28&lat=38.47&limit=1000000").json
    assert answer["limit"] == 100 and answer["numberReturned"] <= 100


def test_a_change_made_by_another_process_shows_on_the_next_request(seeded_app, client):
    service = db.session.scalars(select(ServicePoint).order_by(ServicePoint.id)).first()
    here, name = f"/api/v1/nearby?lon={service.geom.x}&lat={service.geom.y}&limit=1", service.name
    assert client.get(here).json["features"][0]["properties"]["name"] == name
    with db.engine.begin() as connection:  # as another process would: no session of this one sees it
        connection.execute(text("UPDATE service_points SET name = '新名字' WHERE id = :id"), {"id": service.id})
    assert client.get(here).json["features"][0]["properties"]["name"] == "新名字"


def test_a_change_this_process_commits_shows_at_once(seeded_app, client):
    service = db.session.scalars(select(ServicePoint).order_by(ServicePoint.id)).first()
    here = f"/api/v1/nearby?lon={service.geom.x}&lat={service.geom.y}&limit=1"
    client.get(here)
    service.name = "刚改的名字"
    db.session.commit()
    assert client.get(here).json["features"][0]["properties"]["name"] == "刚改的名字"
