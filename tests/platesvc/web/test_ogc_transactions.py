"""OGC API - Features Part 4 under /ogc: staff create, replace, update and delete service points, culture zones
and police beats through the staff pages' own edits, with an operator's token and ETags against lost updates."""

import json
import math

import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from sqlalchemy import select

from gis.crs import OFFERED
from platesvc.store.database import db
from platesvc.store.models import AuditEvent, Building, Plate, PlateStatus, Role

ITEMS = "/ogc/collections/{}/items"
MERGE_PATCH = "application/merge-patch+json"


def _headers(tokens, role: Role = Role.OPERATOR, **more) -> dict:
    return {"Authorization": f"Bearer {tokens[role]}", **more}


def _plate_and_point() -> tuple[str, shapely.Point]:
    plate_id, point = db.session.execute(select(Plate.id, Building.point).join(Building)
                                         .where(Plate.status != PlateStatus.RETIRED).order_by(Plate.id)).first()
    db.session.rollback()
    return plate_id, point


def _service(point: shapely.Point, source_id: str = "api-1", **properties) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [point.x, point.y]},
            "properties": {"source_id": source_id, "name": "接口助餐点", "category": "meal_point",
                           "phone": "0951-6012345", "hours": "11:00-13:00", **properties}}


def _square(point: shapely.Point, half: float) -> dict:
    return shapely.geometry.mapping(shapely.box(point.x - half, point.y - half, point.x + half, point.y + half))


def _events(action: str) -> list[AuditEvent]:
    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
    db.session.rollback()
    return events


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def test_a_service_point_created_through_part_4_shows_everywhere_with_its_audit_event(issued_app, client, tokens,
                                                                                      staff):
    plate_id, door = _plate_and_point()
    before = client.get(f"/api/v1/plates/{plate_id}").json["nearest"]["meal_point"]
    assert all(entry["distance_m"] > 5 for entry in before)  # so the new point, 3 m away, comes first
    place = shapely.Point(door.x + 0.00003, door.y)
    created = client.post(ITEMS.format("services"), json=_service(place), headers=_headers(tokens))
    assert created.status_code == 201, created.json
    location, feature = created.headers["Location"], created.json
    service_id = feature["id"]
    assert location.endswith(f"/ogc/collections/services/items/{service_id}") and created.headers["ETag"]
    assert feature["properties"]["name"] == "接口助餐点" and feature["geometry"]["coordinates"] == [
        round(place.x, 7), round(place.y, 7)]

    read = client.get(location)
    assert read.status_code == 200 and read.headers["ETag"] == created.headers["ETag"]
    box = f"{place.x - 0.001},{place.y - 0.001},{place.x + 0.001},{place.y + 0.001}"
    items = client.get(ITEMS.format("services"), query_string={"bbox": box, "limit": 1000}).json
    assert service_id in [item["id"] for item in items["features"]]
    assert service_id in [item["id"] for item in client.get(
        ITEMS.format("services-meal_point"), query_string={"bbox": box}).json["features"]]

    x, y = _tile_of(place.x, place.y, 15)
    tile = mapbox_vector_tile.decode(client.get(f"/tiles/services/15/{x}/{y}.mvt").data)
    assert service_id in [item["id"] for item in tile["services"]["features"]]

    nearby = client.get("/api/v1/nearby", query_string={"lon": place.x, "lat": place.y, "category": "meal_point",
                                                        "limit": 1}).json
    assert nearby["features"][0]["properties"]["name"] == "接口助餐点"

    document = client.get(f"/api/v1/plates/{plate_id}").json
    assert document["nearest"]["meal_point"][0]["name"] == "接口助餐点"
    assert "接口助餐点" in client.get(f"/P/{plate_id}").text

    event, = _events("service.added")
    assert event.actor == staff[Role.OPERATOR].username and event.subject_id == str(service_id)
    assert json.loads(event.details)["relinked_buildings"] >= 1


def test_replace_update_and_delete_need_the_current_etag(issued_app, client, tokens):
    _, door = _plate_and_point()
    created = client.post(ITEMS.format("services"), json=_service(door), headers=_headers(tokens))
    location, first_tag = created.headers["Location"], created.headers["ETag"]
    renamed = _service(door, name="改名助餐点")

    missing = client.put(location, json=renamed, headers=_headers(tokens))
    assert missing.status_code == 428 and missing.json["code"] == "PreconditionRequired"
    replaced = client.put(location, json=renamed, headers=_headers(tokens, **{"If-Match": first_tag}))
    assert replaced.status_code == 200 and replaced.json["properties"]["name"] == "改名助餐点"
    second_tag = replaced.headers["ETag"]
    assert second_tag != first_tag and client.get(location).headers["ETag"] == second_tag

    # Another client still holding the first tag: its change would undo the rename.
    stale = client.put(location, json=_service(door, phone="110"), headers=_headers(tokens, **{"If-Match": first_tag}))
    assert stale.status_code == 412 and stale.json["code"] == "PreconditionFailed"
    assert client.get(location).json["properties"]["phone"] == "0951-6012345"

    patched = client.patch(location, data=json.dumps({"properties": {"hours": None, "phone": "0951-6000000"}}),
                           content_type=MERGE_PATCH, headers=_headers(tokens, **{"If-Match": second_tag}))
    assert patched.status_code == 200, patched.json
    assert patched.json["properties"] | {} == {"name": "改名助餐点", "category": "meal_point", "phone": "0951-6000000",
                                               "hours": None, "source_id": "api-1"}
    gzip_tag = patched.headers["ETag"][:-1] + ':gzip"'  # Flask-Compress's tag of a gzipped answer: the same state

    assert client.delete(location, headers=_headers(tokens, **{"If-Match": second_tag})).status_code == 412
    deleted = client.delete(location, query_string={"reason": "closed for good"},
                            headers=_headers(tokens, **{"If-Match": gzip_tag}))
    assert deleted.status_code == 204 and client.get(location).status_code == 404
    assert client.put(location, json=renamed, headers=_headers(tokens)).status_code == 404
    assert client.put(location, json=renamed, headers=_headers(tokens, **{"If-Match": "*"})).status_code == 412
    assert [event.reason for event in _events("service.removed")] == ["closed for good"]
    assert len(_events("service.edited")) == 2


def test_writes_need_an_operator_token_and_options_says_so(issued_app, client, tokens):
    _, door = _plate_and_point()
    anonymous = client.post(ITEMS.format("services"), json=_service(door))
    assert anonymous.status_code == 401 and anonymous.json["code"] == "Unauthorized"
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    viewer = client.post(ITEMS.format("services"), json=_service(door), headers=_headers(tokens, Role.VIEWER))
    assert viewer.status_code == 403 and viewer.json["code"] == "Forbidden"
    assert client.post(ITEMS.format("plates"), json=_service(door), headers=_headers(tokens)).status_code == 405

    item = f"{ITEMS.format('services')}/1"
    anyone = set(client.open(item, method="OPTIONS").headers["Allow"].split(", "))
    operator = set(client.open(item, method="OPTIONS", headers=_headers(tokens)).headers["Allow"].split(", "))
    assert anyone == {"GET", "HEAD", "OPTIONS"} and operator == anyone | {"PUT", "PATCH", "DELETE"}
    assert "POST" in client.open(ITEMS.format("services"), method="OPTIONS", headers=_headers(tokens)).headers["Allow"]
    assert "PUT" not in client.open(f"{ITEMS.format('plates')}/1", method="OPTIONS",
                                    headers=_headers(tokens)).headers["Allow"]


@pytest.mark.parametrize("change, named", [
    (lambda body: [body], "body"),
    (lambda body: {**body, "type": "FeatureCollection"}, "type"),
    (lambda body: {key: value for key, value in body.items() if key != "geometry"}, "geometry"),
    (lambda body: {**body, "geometry": {"type": "Polygon", "coordinates": [[[106, 38], [106.1, 38], [106, 38.1],
                                                                              [106, 38]]]}}, "geometry"),
    (lambda body: {**body, "geometry": {"type": "Point", "coordinates": ["106.2", 38.4]}}, "geometry"),
    (lambda body: {**body, "properties": {**body["properties"], "floors": 3}}, "properties.floors"),
    (lambda body: {**body, "properties": {**body["properties"], "category": "hospital"}}, "properties.category"),
    (lambda body: {**body, "properties": {**body["properties"], "name": None}}, "properties.name"),
    (lambda body: {**body, "properties": {"name": "x", "category": "meal_point"}}, "properties.source_id"),
])
def test_a_body_that_is_not_a_feature_of_the_collection_is_a_400_naming_what(issued_app, client, tokens, change,
                                                                             named):
    _, door = _plate_and_point()
    answer = client.post(ITEMS.format("services"), json=change(_service(door)), headers=_headers(tokens))
    assert answer.status_code == 400 and answer.json["description"].startswith(f"{named}: "), answer.json


def test_bodies_refused_for_their_content_and_media_type(issued_app, client, tokens):
    _, door = _plate_and_point()
    not_json = client.post(ITEMS.format("services"), data="<Feature/>", content_type="application/xml",
                           headers=_headers(tokens))
    assert not_json.status_code == 400 and not_json.json["description"].startswith("body: ")
    far = client.post(ITEMS.format("services"), json=_service(shapely.Point(116.4, 39.9)), headers=_headers(tokens))
    assert far.status_code == 422 and "outside every district" in far.json["description"]
    client.post(ITEMS.format("services"), json=_service(door), headers=_headers(tokens))
    again = client.post(ITEMS.format("services"), json=_service(door), headers=_headers(tokens))
    assert again.status_code == 422 and "api-1" in again.json["description"]
    bowtie = {"type": "Polygon", "coordinates": [[[door.x, door.y], [door.x + 0.01, door.y + 0.01],
                                                  [door.x + 0.01, door.y], [door.x, door.y + 0.01], [door.x, door.y]]]}
    zone = client.post(ITEMS.format("culture-zones"), headers=_headers(tokens), json={
        "type": "Feature", "geometry": bowtie, "properties": {"source_id": "z", "name": "z", "body": "b"}})
    assert zone.status_code == 400 and "Self-intersection" in zone.json["description"]
    unknown_crs = client.post(ITEMS.format("services"), json=_service(door, source_id="api-2"),
                              headers=_headers(tokens, **{"Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/2000>"}))
    assert unknown_crs.status_code == 400 and unknown_crs.json["description"].startswith("Content-Crs: ")


def test_a_body_in_each_documented_content_crs_is_stored_in_crs84(issued_app, client, tokens):
    _, door = _plate_and_point()
    operation = client.get("/ogc/api").json["paths"]["/collections/services/items"]["post"]
    documented = next(p for p in operation["parameters"] if p["name"] == "Content-Crs")["schema"]["enum"]
    assert len(documented) == len(OFFERED)
    for number, given in enumerate(documented):
        x, y = shapely.get_coordinates(OFFERED[given.strip("<>")].from_wgs84(np.array([door])))[0]
        body = {**_service(door, source_id=f"crs-{number}"), "geometry": {"type": "Point", "coordinates": [x, y]}}
        created = client.post(ITEMS.format("services"), json=body, headers=_headers(tokens, **{"Content-Crs": given}))
        assert created.status_code == 201, (given, created.json)
        assert created.json["geometry"]["coordinates"] == pytest.approx([door.x, door.y], abs=2e-7), given


def test_a_culture_zone_and_its_note_and_a_police_beat_and_its_officer(issued_app, client, tokens):
    plate_id, door = _plate_and_point()
    zone = client.post(ITEMS.format("culture-zones"), headers=_headers(tokens), json={
        "type": "Feature", "geometry": _square(door, 0.0005),
        "properties": {"source_id": "zone-api", "name": "接口街区", "body": "这里曾是老城门。"}})
    assert zone.status_code == 201, zone.json
    assert zone.json["properties"] == {"name": "接口街区", "source_id": "zone-api", "body": "这里曾是老城门。"}
    note = {"title": "接口街区", "body": "这里曾是老城门。"}
    assert note in client.get(f"/api/v1/plates/{plate_id}").json["culture"]

    # The beat the door lies in goes, and with it the officer on the plate's page.
    box = f"{door.x - 1e-6},{door.y - 1e-6},{door.x + 1e-6},{door.y + 1e-6}"
    for old in client.get(ITEMS.format("police-beats"), query_string={"bbox": box}).json["features"]:
        location = f"{ITEMS.format('police-beats')}/{old['id']}"
        tag = client.get(location).headers["ETag"]
        assert client.delete(location, headers=_headers(tokens, **{"If-Match": tag})).status_code == 204
    assert client.get(f"/api/v1/plates/{plate_id}").json["police"] is None
    assert _events("beat.removed")

    beat = client.post(ITEMS.format("police-beats"), headers=_headers(tokens), json={
        "type": "Feature", "geometry": _square(door, 0.0002),
        "properties": {"source_id": "beat-api", "name": "接口警务区", "station": "接口派出所", "officer": "王警官",
                       "phone": "0951-1100000"}})
    assert beat.status_code == 201, beat.json
    police = client.get(f"/api/v1/plates/{plate_id}").json["police"]
    assert police["officer"] == "王警官" and police["station"] == "接口派出所"

    # Moved away from the door: the building is relinked, to no beat now.
    elsewhere = shapely.Point(door.x + 0.01, door.y + 0.01)
    moved = client.patch(beat.headers["Location"], data=json.dumps({"geometry": _square(elsewhere, 0.0002),
                                                                    "properties": {"officer": None, "phone": None}}),
                         content_type=MERGE_PATCH, headers=_headers(tokens, **{"If-Match": beat.headers["ETag"]}))
    assert moved.status_code == 200 and moved.json["properties"]["officer"] is None, moved.json
    assert client.get(f"/api/v1/plates/{plate_id}").json["police"] is None
    assert json.loads(_events("beat.edited")[0].details)["relinked_buildings"] >= 1
    assert _events("officer.removed")

    removed = client.delete(zone.headers["Location"], headers=_headers(tokens, **{"If-Match": zone.headers["ETag"]}))
    assert removed.status_code == 204
    assert note not in client.get(f"/api/v1/plates/{plate_id}").json["culture"]
    assert _events("zone.removed")[0].reason is None
