"""OGC API - Features on every backend: the documents, bbox and property queries against brute
force, paging, OGC errors, and GDAL's OAPIF driver reading every collection as a real client."""

import subprocess
from urllib.parse import parse_qs, urlsplit

import pytest
import shapely
from openapi_spec_validator import validate
from sqlalchemy import select

from platesvc.maps import features
from platesvc.store.database import db
from platesvc.store.models import (
    Building,
    BuildingStatus,
    Division,
    Plate,
    PoliceBeat,
    Road,
    Role,
    ServicePoint,
)
from platesvc.web.ogc import CONFORMANCE

# A box over the middle of 兴庆区, and one across the edge of the demo city.
BOXES = [(106.25, 38.45, 106.30, 38.49), (106.0, 38.3, 106.2, 38.6)]


def _all_items(client, path: str, **query) -> list[dict]:
    """Every feature, following `next` links as a client would; none comes twice."""
    found, url = [], path
    answer = client.get(url, query_string={**query, "limit": 50})
    while True:
        assert answer.status_code == 200, answer.json
        found.extend(answer.json["features"])
        following = [link["href"] for link in answer.json["links"] if link["rel"] == "next"]
        if not following:
            assert len({feature["id"] for feature in found}) == len(found)
            return found
        parts = urlsplit(following[0])
        answer = client.get(parts.path, query_string={k: v[0] for k, v in parse_qs(parts.query).items()})


def test_landing_page_conformance_and_collections(issued_app, client):
    landing = client.get("/ogc").json
    relations = {link["rel"]: link for link in landing["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= set(relations)
    described = client.get(urlsplit(relations["service-desc"]["href"]).path)
    assert described.headers["Content-Type"] == relations["service-desc"]["type"]
    definition = described.json  # rooted at the OGC API, as OGC's TEAM Engine reads it
    validate(definition)
    assert definition["servers"] == [{"url": "http://localhost/ogc"}]
    assert {"/", "/conformance", "/collections", "/collections/{collectionId}",
            "/collections/services/items", "/collections/{collectionId}/items/{featureId}"} <= set(definition["paths"])
    assert not [path for path in definition["paths"] if path.startswith(("/ogc", "/api/v1", "/P/"))]
    assert client.get("/ogc/conformance").json["conformsTo"] == CONFORMANCE
    listed = client.get("/ogc/collections").json["collections"]
    assert [c["id"] for c in listed] == ["plates", "services", "services-elderly_care", "services-day_care",
                                         "services-meal_point", "services-assistance_station", "police-beats",
                                         "culture-zones", "roads", "divisions"]
    for described in listed:
        min_x, min_y, max_x, max_y = described["extent"]["spatial"]["bbox"][0]
        assert 105.5 < min_x < max_x < 107.5 and 37.5 < min_y < max_y < 39.5
        assert client.get(f"/ogc/collections/{described['id']}").json["id"] == described["id"]


def test_items_page_through_every_feature_with_counts(issued_app, client):
    first = client.get("/ogc/collections/services/items")
    assert first.status_code == 200 and first.mimetype == "application/geo+json"
    page = first.json
    total = db.session.scalar(select(db.func.count()).select_from(ServicePoint))
    assert total > features.MATCH_COUNT_LIMIT  # so the count is left out of a small page
    assert page["numberReturned"] == features.DEFAULT_LIMIT and "numberMatched" not in page
    assert {link["rel"] for link in page["links"]} >= {"self", "next", "collection"}
    # Counted exactly where the page's own limit reaches that far, or the page holds the last match.
    assert client.get("/ogc/collections/services/items", query_string={"limit": total}).json[
        "numberMatched"] == total
    last = client.get("/ogc/collections/services/items", query_string={"offset": total - 3}).json
    assert (last["numberReturned"], last["numberMatched"]) == (3, total)
    assert not any(link["rel"] == "next" for link in last["links"])
    few = client.get("/ogc/collections/services-assistance_station/items", query_string={"limit": 1}).json
    assert few["numberMatched"] == db.session.scalar(select(db.func.count()).select_from(ServicePoint).where(
        ServicePoint.category == "assistance_station")) > 1
    everything = _all_items(client, "/ogc/collections/services/items")
    assert sorted(f["id"] for f in everything) == sorted(db.session.scalars(select(ServicePoint.id)))
    second = client.get("/ogc/collections/services/items", query_string={"limit": 5, "offset": 5}).json
    assert [f["id"] for f in second["features"]] == [f["id"] for f in everything[5:10]]
    assert any(link["rel"] == "prev" for link in second["links"])
    capped = client.get("/ogc/collections/plates/items", query_string={"limit": 100000}).json
    assert capped["numberReturned"] == features.MAX_LIMIT


@pytest.mark.parametrize("bbox", BOXES)
def test_bbox_matches_brute_force_in_every_kind_of_geometry(issued_app, client, bbox):
    box = shapely.box(*bbox)
    expected = {
        "plates": {plate_id for plate_id, point, status in db.session.execute(
            select(Plate.id, Building.point, Building.status).join(Building))
            if status == BuildingStatus.ACTIVE and box.intersects(point)},
        "services": {i for i, g in db.session.execute(select(ServicePoint.id, ServicePoint.geom)) if box.intersects(g)},
        "police-beats": {i for i, g in db.session.execute(select(PoliceBeat.id, PoliceBeat.geom)) if box.intersects(g)},
        "roads": {i for i, g in db.session.execute(select(Road.id, Road.geom)) if box.intersects(g)},
        "divisions": {i for i, g in db.session.execute(select(Division.id, Division.geom)) if box.intersects(g)},
    }
    for collection, ids in expected.items():
        query = {"bbox": ",".join(map(str, bbox)), "limit": 1000}
        page = client.get(f"/ogc/collections/{collection}/items", query_string=query).json
        assert page["numberMatched"] == len(ids), collection
        assert {f["id"] for f in _all_items(client, f"/ogc/collections/{collection}/items",
                                            bbox=query["bbox"])} == ids, collection
    assert expected["plates"] and expected["roads"]


def test_property_filters_and_category_collections_agree(issued_app, client):
    filtered = _all_items(client, "/ogc/collections/services/items", category="elderly_care")
    own = _all_items(client, "/ogc/collections/services-elderly_care/items")
    stored = set(db.session.scalars(select(ServicePoint.id).where(ServicePoint.category == "elderly_care")))
    assert {f["id"] for f in filtered} == {f["id"] for f in own} == stored
    assert {f["properties"]["category"] for f in own} == {"elderly_care"}
    road = db.session.scalar(select(Road.name).join(Building, Building.road_id == Road.id).limit(1))
    plates = _all_items(client, "/ogc/collections/plates/items", road=road, bbox="105,37,108,40")
    assert plates and {f["properties"]["road"] for f in plates} == {road}
    assert plates[0]["properties"]["url"] == f"HTTPS://PLATES.EXAMPLE/P/{plates[0]['id']}"


def test_a_committed_change_shows_on_the_next_request(issued_app, client):
    plate = db.session.scalars(select(Plate).order_by(Plate.id)).first()
    bbox = ",".join(map(str, plate.building.point.buffer(0.0001).bounds))
    before = client.get("/ogc/collections/plates/items", query_string={"bbox": bbox}).json
    assert plate.id in {f["id"] for f in before["features"]}
    plate.building.status = BuildingStatus.RETIRED
    db.session.commit()
    after = client.get("/ogc/collections/plates/items", query_string={"bbox": bbox}).json
    assert after["numberMatched"] == before["numberMatched"] - 1
    assert plate.id not in {f["id"] for f in after["features"]}
    assert client.get(f"/ogc/collections/plates/items/{plate.id}").status_code == 404
    service = db.session.scalars(select(ServicePoint).order_by(ServicePoint.id)).first()
    service.name = "改名后的服务站"
    db.session.commit()
    assert client.get(f"/ogc/collections/services/items/{service.id}").json["properties"]["name"] == "改名后的服务站"


def test_one_feature_by_id(issued_app, client):
    plate_id = db.session.scalar(select(Plate.id).limit(1))
    feature = client.get(f"/ogc/collections/plates/items/{plate_id}").json
    assert feature["type"] == "Feature" and feature["id"] == plate_id
    assert feature["geometry"]["type"] == "Point" and feature["properties"]["display_id"].replace("-", "") == plate_id
    division = client.get("/ogc/collections/divisions/items/1").json
    assert division["geometry"]["type"] == "MultiPolygon" and division["properties"]["code"]


@pytest.mark.parametrize(("path", "query", "status", "code"), [
    ("/ogc/collections/parks/items", {}, 404, "NotFound"),
    ("/ogc/nothing/here", {}, 404, "NotFound"),
    ("/ogc/collections/services/items", {"code": "640104"}, 400, "InvalidParameterValue"),  # a division filter
    ("/ogc/collections/services/items", {"limit": "²"}, 400, "InvalidParameterValue"),
    ("/ogc/collections/plates/items/NOPE", {}, 404, "NotFound"),
    ("/ogc/collections/services/items/999999", {}, 404, "NotFound"),
    ("/ogc/collections/services/items/99999999999999999999999", {}, 404, "NotFound"),
    ("/ogc/collections/services/items/²", {}, 404, "NotFound"),
    ("/ogc/collections/services/items", {"offset": "99999999999999999999"}, 400, "InvalidParameterValue"),
    ("/ogc/collections/services/items", {"bbox": "1,2,3"}, 400, "InvalidParameterValue"),
    ("/ogc/collections/services/items", {"bbox": "106,39,107,38"}, 400, "InvalidParameterValue"),
    ("/ogc/collections/services/items", {"bbox": "a,b,c,d"}, 400, "InvalidParameterValue"),
    ("/ogc/collections/services/items", {"bbox": "106,38,107,39", "bbox-crs": "EPSG:4544"}, 400,
     "InvalidParameterValue"),
    ("/ogc/collections/services/items", {"limit": "0"}, 400, "InvalidParameterValue"),
    ("/ogc/collections/services/items", {"offset": "-1"}, 400, "InvalidParameterValue"),
    ("/ogc/collections/services/items", {"colour": "red"}, 400, "InvalidParameterValue"),
    ("/ogc/collections/services/items", {"f": "html"}, 400, "InvalidParameterValue"),
])
def test_errors_answer_in_ogc_form(issued_app, client, path, query, status, code):
    answer = client.get(path, query_string=query)
    assert answer.status_code == status
    assert answer.json["code"] == code and answer.json["description"]


def test_gdal_reads_every_collection_with_paging(live_server, ogrinfo):
    source = f"OAPIF:{live_server}/ogc"
    listing = subprocess.run([ogrinfo, "-ro", "-q", source], capture_output=True, text=True, check=True).stdout
    assert [line.split(": ", 1)[1].split(" ")[0] for line in listing.splitlines() if ": " in line] == list(
        features.COLLECTIONS)
    for collection_id, model in (("services", ServicePoint), ("police-beats", PoliceBeat), ("roads", Road)):
        # A page of 25 makes GDAL follow many `next` links.
        dump = subprocess.run([ogrinfo, "-ro", "-al", "-q", "-oo", "PAGE_SIZE=25", source, collection_id],
                              capture_output=True, text=True, check=True).stdout
        stored = db.session.scalar(select(db.func.count()).select_from(model))
        assert dump.count("OGRFeature(") == stored, collection_id


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # parsing, and the same on both
def test_datetime_is_taken_and_ignored_by_collections_without_time(issued_app, client):
    everything = client.get("/ogc/collections/services/items", query_string={"limit": 5}).json["features"]
    for asked in ("2026-12-01T09:00:00+08:00", "2026-01-01T00:00:00Z/2026-12-31T23:59:59Z", "../2026-12-01T00:00:00Z",
                  "2026-01-01T00:00:00Z/..", "2026-01-01T00:00:00Z/"):
        answer = client.get("/ogc/collections/services/items", query_string={"limit": 5, "datetime": asked})
        assert answer.status_code == 200 and answer.json["features"] == everything, asked
    for wrong in ("yesterday", "../..", "2026-01-01/2026-02-01/2026-03-01"):
        refused = client.get("/ogc/collections/services/items", query_string={"datetime": wrong})
        assert refused.status_code == 400 and refused.json["description"].startswith("datetime"), wrong
    assert "datetime" in {p["name"] for p in client.get("/api/v1/openapi.json").json["paths"][
        "/ogc/collections/services/items"]["get"]["parameters"]}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_web_maps_on_other_origins_may_read_the_public_apis_only(issued_app, client, tokens):
    origin = {"Origin": "https://map.example.org"}
    plate_id = client.get("/ogc/collections/plates/items", query_string={"limit": 1}).json["features"][0]["id"]
    for path in ("/ogc", "/ogc/collections", "/ogc/collections/plates/items", f"/api/v1/plates/{plate_id}",
                 "/api/v1/nearby?lon=106.28&lat=38.47", "/tiles/plates.json", "/api/v1/openapi.json"):
        assert client.get(path, headers=origin).headers.get("Access-Control-Allow-Origin") == "*", path
    preflight = client.options("/ogc/collections", headers={**origin, "Access-Control-Request-Method": "GET"})
    assert preflight.headers.get("Access-Control-Allow-Origin") == "*"
    staff = client.get("/api/v1/staff/me", headers={**origin, "Authorization": f"Bearer {tokens[Role.VIEWER]}"})
    assert "Access-Control-Allow-Origin" not in staff.headers  # scripts with a token call from their own machine


def test_the_landing_page_calls_itself_by_the_url_asked(client):
    for asked in ("/ogc", "/ogc/", "/ogc?f=json"):
        self_link = next(link for link in client.get(asked).json["links"] if link["rel"] == "self")
        assert self_link["href"] == f"http://localhost{asked}"
