"""OGC API - Features on every backend: the documents, bbox and property queries against brute
force, paging, OGC errors, and GDAL's OAPIF driver reading every collection as a real client."""

import subprocess
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
import shapely
from openapi_spec_validator import validate
from pyproj import Transformer
from sqlalchemy import select

from platesvc.maps import features
from platesvc.store.database import db
from platesvc.store.models import (
    Building,
    BuildingStatus,
    CultureZone,
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


def test_a_box_across_the_antimeridian_is_its_two_halves(issued_app, client):
    def ids(bbox: str) -> tuple[set, int]:
        page = client.get("/ogc/collections/plates/items", query_string={"bbox": bbox, "limit": 10000}).json
        return {feature["id"] for feature in page["features"]}, page["numberMatched"]

    east_of_the_city, matched = ids("106.25,38.45,-179,38.49")  # from 106.25°E on round to 179°W
    assert east_of_the_city and ids("106.25,38.45,180,38.49") == (east_of_the_city, matched)
    west_of_the_city = ids("179,38.45,106.30,38.49")  # from 179°E round to 106.30°E
    assert west_of_the_city == ids("-180,38.45,106.30,38.49") and west_of_the_city[0]
    assert ids("179,38.45,-179,38.49") == (set(), 0)  # only the sea near the date line
    paged = _all_items(client, "/ogc/collections/plates/items", bbox="106.25,38.45,-179,38.49")
    assert {feature["id"] for feature in paged} == east_of_the_city


def test_polygons_are_wound_as_rfc_7946_says_whatever_was_stored(issued_app, client):
    clockwise = shapely.Polygon([(106.20, 38.40), (106.20, 38.41), (106.21, 38.41), (106.21, 38.40)],
                                [[(106.202, 38.402), (106.208, 38.402), (106.208, 38.408), (106.202, 38.408)]])
    assert not clockwise.exterior.is_ccw and clockwise.interiors[0].is_ccw  # both the wrong way round
    zone = CultureZone(source_id="WOUND-1", name="绕向测试", geom=shapely.MultiPolygon([clockwise]))
    db.session.add(zone)
    db.session.commit()
    feature = client.get(f"/ogc/collections/culture-zones/items/{zone.id}").json
    (exterior, hole), = feature["geometry"]["coordinates"]
    assert shapely.LinearRing(exterior).is_ccw and not shapely.LinearRing(hole).is_ccw
    assert all(len(str(value).split(".")[-1]) <= 7 for point in exterior for value in point)
    listed = client.get("/ogc/collections/culture-zones/items", query_string={"limit": 10000}).json["features"]
    for found in listed:
        for polygon in found["geometry"]["coordinates"]:
            assert shapely.LinearRing(polygon[0]).is_ccw and not any(
                shapely.LinearRing(ring).is_ccw for ring in polygon[1:]), found["id"]


@pytest.mark.parametrize("code, northing_first, tolerance", [
    (4326, True, 1e-7), (4490, True, 1e-6), (4544, True, 0.01), (3857, False, 0.01)])
def test_features_come_in_each_crs_offered_in_its_own_axis_order(issued_app, client, code, northing_first,
                                                                    tolerance):
    uri = f"http://www.opengis.net/def/crs/EPSG/0/{code}"
    plate = db.session.scalars(select(Plate).order_by(Plate.id).limit(1)).one()
    point = plate.building.point
    expected = Transformer.from_crs("EPSG:4326", f"EPSG:{code}", always_xy=True).transform(point.x, point.y)
    expected = expected[::-1] if northing_first else expected
    one = client.get(f"/ogc/collections/plates/items/{plate.id}", query_string={"crs": uri})
    assert one.headers["Content-Crs"] == f"<{uri}>"
    assert one.json["geometry"]["coordinates"] == pytest.approx(list(expected), abs=tolerance)

    # A box in the same CRS, in its axis order, around the plate finds it.
    a, b = one.json["geometry"]["coordinates"]
    half = 1e-4 if tolerance < 0.01 else 10
    page = client.get("/ogc/collections/plates/items", query_string={
        "crs": uri, "bbox-crs": uri, "bbox": f"{a - half},{b - half},{a + half},{b + half}", "limit": 1000})
    assert page.status_code == 200 and page.headers["Content-Crs"] == f"<{uri}>"
    assert plate.id in {feature["id"] for feature in page.json["features"]}

    # Polygons too: a vertex as given, taken back to longitude/latitude, is one of the stored ones.
    division = db.session.scalars(select(Division).order_by(Division.id).limit(1)).one()
    shown = client.get(f"/ogc/collections/divisions/items/{division.id}", query_string={"crs": uri}).json
    first = shown["geometry"]["coordinates"][0][0][0]
    back = Transformer.from_crs(f"EPSG:{code}", "EPSG:4326", always_xy=True).transform(
        *(first[::-1] if northing_first else first))
    assert shapely.Point(back).distance(shapely.MultiPoint(shapely.get_coordinates(division.geom))) < 1e-6


def test_collections_list_their_crs_and_refuse_others(issued_app, client):
    described = client.get("/ogc/collections/plates").json
    assert described["storageCrs"] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    assert {"http://www.opengis.net/def/crs/EPSG/0/4490", "http://www.opengis.net/def/crs/EPSG/0/4544"} <= set(
        described["crs"])
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in client.get(
        "/ogc/conformance").json["conformsTo"]
    plain = client.get("/ogc/collections/plates/items")
    assert plain.headers["Content-Crs"] == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    for query in ({"crs": "EPSG:4544"}, {"crs": "http://www.opengis.net/def/crs/EPSG/0/2000"},
                  {"bbox": "4260000,611000,4250000,612000", "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/4544"},
                  {"bbox": "1e30,1e30,2e30,2e30", "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/4544"},
                  {"bbox": "38.5,106.3,38.4,106.2", "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/4326"}):
        refused = client.get("/ogc/collections/plates/items", query_string=query)
        assert refused.status_code == 400 and refused.json["code"] == "InvalidParameterValue", query
    # EPSG:4326's bbox is latitude first: the same box as CRS84's, its axes swapped.
    swapped = client.get("/ogc/collections/plates/items", query_string={
        "bbox": "38.45,106.25,38.49,106.30", "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/4326", "limit": 1000})
    plain = client.get("/ogc/collections/plates/items", query_string={"bbox": "106.25,38.45,106.30,38.49",
                                                                       "limit": 1000})
    assert swapped.json["numberMatched"] == plain.json["numberMatched"] > 0


SQUARE = [(106.20, 38.40), (106.35, 38.40), (106.35, 38.50), (106.20, 38.50), (106.20, 38.40)]
SQUARE_WKT = "POLYGON((" + ", ".join(f"{x} {y}" for x, y in SQUARE) + "))"


def _services() -> list[dict]:
    return [{"id": service.id, "name": service.name, "category": service.category, "phone": service.phone,
             "hours": service.hours, "geom": service.geom} for service in db.session.scalars(select(ServicePoint))]


@pytest.mark.parametrize("text, json_form, expected", [
    ("category = 'elderly_care' AND name LIKE '%站'",
     {"op": "and", "args": [{"op": "=", "args": [{"property": "category"}, "elderly_care"]},
                            {"op": "like", "args": [{"property": "name"}, "%站"]}]},
     lambda s: s["category"] == "elderly_care" and s["name"].endswith("站")),
    ("category IN ('day_care', 'meal_point') AND NOT name LIKE '%北%'",
     {"op": "and", "args": [{"op": "in", "args": [{"property": "category"}, ["day_care", "meal_point"]]},
                            {"op": "not", "args": [{"op": "like", "args": [{"property": "name"}, "%北%"]}]}]},
     lambda s: s["category"] in ("day_care", "meal_point") and "北" not in s["name"]),
    ("phone BETWEEN '0951-5' AND '0951-6' OR hours IS NULL",
     {"op": "or", "args": [{"op": "between", "args": [{"property": "phone"}, "0951-5", "0951-6"]},
                           {"op": "isNull", "args": [{"property": "hours"}]}]},
     lambda s: s["phone"] is not None and "0951-5" <= s["phone"] <= "0951-6" or s["hours"] is None),
    (f"S_INTERSECTS(geometry, {SQUARE_WKT}) AND category <> 'assistance_station'",
     {"op": "and", "args": [{"op": "s_intersects", "args": [{"property": "geometry"},
                                                           {"type": "Polygon", "coordinates": [SQUARE]}]},
                            {"op": "<>", "args": [{"property": "category"}, "assistance_station"]}]},
     lambda s: shapely.Polygon(SQUARE).intersects(s["geom"]) and s["category"] != "assistance_station"),
    ("S_WITHIN(geometry, BBOX(106.25, 38.44, 106.32, 38.49))",
     {"op": "s_within", "args": [{"property": "geometry"}, {"bbox": [106.25, 38.44, 106.32, 38.49]}]},
     lambda s: shapely.box(106.25, 38.44, 106.32, 38.49).contains(s["geom"])),
    ("S_DISJOINT(geometry, BBOX(106.25, 38.44, 106.32, 38.49)) AND name LIKE '%养老%'",
     {"op": "and", "args": [{"op": "s_disjoint", "args": [{"property": "geometry"},
                                                         {"bbox": [106.25, 38.44, 106.32, 38.49]}]},
                            {"op": "like", "args": [{"property": "name"}, "%养老%"]}]},
     lambda s: shapely.box(106.25, 38.44, 106.32, 38.49).disjoint(s["geom"]) and "养老" in s["name"]),
])
def test_cql2_filters_in_text_and_json_agree_with_brute_force(issued_app, client, text, json_form, expected):
    wanted = {service["id"] for service in _services() if expected(service)}
    assert wanted  # each case finds something, and not everything
    for language, written in (("cql2-text", text), ("cql2-json", orjson.dumps(json_form).decode())):
        found = _all_items(client, "/ogc/collections/services/items", **{"filter": written, "filter-lang": language})
        assert {feature["id"] for feature in found} == wanted, language
    with_box = _all_items(client, "/ogc/collections/services/items", filter=text, bbox="106.2,38.4,106.3,38.5")
    assert {f["id"] for f in with_box} == {s["id"] for s in _services() if expected(s) and shapely.box(
        106.2, 38.4, 106.3, 38.5).intersects(s["geom"])}


def test_cql2_like_is_case_sensitive_and_text_is_ordered_alike_on_every_backend(issued_app, client):
    road = db.session.scalars(select(Road).order_by(Road.id).limit(1)).one()
    pinyin = road.pinyin

    def matched(condition: str) -> set:
        return {f["id"] for f in _all_items(client, "/ogc/collections/roads/items", filter=condition)}

    assert road.id in matched(f"pinyin LIKE '{pinyin[:3]}%'")
    assert road.id not in matched(f"pinyin LIKE '{pinyin[:3].swapcase()}%'")
    every = {r.id: r.name for r in db.session.scalars(select(Road))}
    assert matched(f"name > '{road.name}'") == {i for i, name in every.items() if name > road.name}
    assert matched("name LIKE '%\\_%'") == {i for i, name in every.items() if "_" in name}


@pytest.mark.parametrize("condition, language, named", [
    ("nosuch = 'x'", "cql2-text", "nosuch"),
    ("category = 3", "cql2-text", "not a string"),
    ("category = ", "cql2-text", "not cql2-text"),
    ("S_INTERSECTS(name, POINT(1 2))", "cql2-text", "geometry"),
    ("CASEI(name) = 'x'", "cql2-text", "functions"),
    ("name = 'x' AND ", "cql2-text", "not cql2-text"),
    ("\"; DROP TABLE plates; --", "cql2-text", "not cql2-text"),
    ("S_INTERSECTS(geometry, BBOX(107, 39, 106, 38))", "cql2-text", "lower corner"),
    ('{"op": "=", "args": [{"property": "name"}]}', "cql2-json", "not cql2-json"),
    ('{"op": "=", "args": [{"property": "name"}, 1]}', "cql2-json", "not a string"),
    ("[]", "cql2-json", "not a condition"),
    ('{"op": "between", "args": [{"property": "phone"}, ["0", "9"]]}', "cql2-json", "three arguments"),
])
def test_a_bad_filter_is_a_400_naming_what_is_wrong(issued_app, client, condition, language, named):
    answer = client.get("/ogc/collections/services/items", query_string={"filter": condition, "filter-lang": language})
    assert answer.status_code == 400 and answer.json["code"] == "InvalidParameterValue"
    assert named in answer.json["description"], answer.json
    assert db.session.scalar(select(Plate.id).limit(1))  # still there


def test_queryables_are_json_schema_of_what_a_filter_may_name(issued_app, client):
    for collection_id in features.COLLECTIONS:
        described = client.get(f"/ogc/collections/{collection_id}").json
        link = next(link["href"] for link in described["links"]
                    if link["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/queryables")
        answer = client.get(urlsplit(link).path)
        assert answer.status_code == 200 and answer.mimetype == "application/schema+json"
        schema = answer.json
        assert schema["type"] == "object" and schema["properties"]["geometry"]["x-ogc-role"] == "primary-geometry"
        for name, declared in schema["properties"].items():
            if name != "geometry":  # each one a filter may name, and with a value of its type is taken
                value = "x" if declared["type"] == "string" else 1
                literal = f"'{value}'" if declared["type"] == "string" else str(value)
                taken = client.get(f"/ogc/collections/{collection_id}/items",
                                   query_string={"filter": f"{name} = {literal}"})
                assert taken.status_code == 200, (collection_id, name, taken.json)
    conformance = client.get("/ogc/conformance").json["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter" in conformance


def test_sortby_orders_the_pages_and_properties_select_what_is_written(issued_app, client):
    roads = [{"id": r.id, "name": r.name, "division_code": r.division_code} for r in db.session.scalars(select(Road))]
    found = _all_items(client, "/ogc/collections/roads/items", sortby="-division_code, name")
    expected = sorted(sorted(roads, key=lambda r: (r["name"], r["id"])), key=lambda r: r["division_code"],
                      reverse=True)
    assert [feature["id"] for feature in found] == [road["id"] for road in expected]
    boxed = client.get("/ogc/collections/roads/items", query_string={
        "sortby": "name", "bbox": "106.2,38.4,106.3,38.5", "limit": 1000}).json["features"]
    names = [feature["properties"]["name"] for feature in boxed]
    assert names == sorted(names) and len(names) > 1

    chosen = client.get("/ogc/collections/roads/items", query_string={"properties": "name,pinyin", "limit": 3}).json
    assert all(set(feature["properties"]) == {"name", "pinyin"} for feature in chosen["features"])
    one = client.get(f"/ogc/collections/roads/items/{roads[0]['id']}", query_string={"properties": "name"}).json
    assert one["properties"] == {"name": roads[0]["name"]}
    for query, named in (({"sortby": "colour"}, "sortby"), ({"properties": "colour"}, "properties")):
        refused = client.get("/ogc/collections/roads/items", query_string=query)
        assert refused.status_code == 400 and named in refused.json["description"]
