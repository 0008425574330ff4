"""The checks of OGC's test suite for OGC API - Features Part 1 (ets-ogcapi-features10) that matter, reproduced
here and run on each backend: as the suite does, every test point is found from the landing page, through the
OpenAPI document its service-desc link gives (its servers, paths and their parameters), not from our own routes.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
import shapely
from openapi_spec_validator import validate
from sqlalchemy import func, select

from platesvc.store.database import db
from platesvc.store.models import ServicePoint

LANDING = "/ogc/"
CORE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
CRS84_RANGE = shapely.box(-180, -90, 180, 90)
# The boxes the suite tries on every collection beside the collection's own extent (FeaturesBBox): two far
# away, one across the antimeridian, the polar caps.
SUITE_BOXES = [(-1.5, 50.0, 1.5, 53.0), (-80.0, -5.0, -70.0, 5.0), (177.0, 65.0, -177.0, 70.0),
               (-180.0, 85.0, 180.0, 90.0), (-180.0, -90.0, 180.0, -85.0)]


class Api:
    """The API as the suite sees it: the landing page, the document its service-desc names, and the document's
    server, against which each path is asked."""

    def __init__(self, client):
        self.client = client
        self.landing = client.get(LANDING).json
        description = _link(self.landing, "service-desc")
        answer = client.get(description["href"], headers={"Accept": description["type"]})
        assert answer.status_code == 200 and answer.content_type == description["type"]
        self.document = answer.json
        self.server = self.document["servers"][0]["url"].rstrip("/")

    def paths_like(self, pattern: str) -> list[str]:
        """The document's paths that the suite's pattern (a regular expression: /collections/.*/items) matches."""
        return [path for path in self.document["paths"] if re.fullmatch(pattern, path)]

    def paths_for(self, concrete: str) -> list[str]:
        """The document's paths whose template a concrete path fills (the suite's UriTemplate match)."""
        return [path for path in self.document["paths"]
                if re.fullmatch(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path)), concrete)]

    def parameter(self, path: str, name: str) -> dict | None:
        """A parameter of a path as the suite finds it: the path's own, then its GET's."""
        item = self.document["paths"][path]
        return next((parameter for parameter in item.get("parameters", []) + item["get"].get("parameters", [])
                     if parameter["name"] == name), None)

    def get(self, path: str, **query):
        return self.client.get(f"{self.server}{path}", query_string=query)


def _link(document: dict, rel: str) -> dict:
    return next(link for link in document["links"] if link["rel"] == rel)


@pytest.fixture
def api(issued_app, client) -> Api:
    return Api(client)


def _collection_ids(api: Api) -> list[str]:
    return [collection["id"] for collection in api.get("/collections").json["collections"]]


def test_landing_page(api):
    """/conformance-core: landing-page-op, landing-page-success."""
    for rel in ("self", "service-desc", "conformance", "data"):
        link = _link(api.landing, rel)
        assert link["href"].startswith("http") and link["type"]
    assert {"title", "links"} <= set(api.landing)


def test_api_definition_is_openapi_3_with_every_test_point(api):
    """/conformance-oas30, api-definition-op/success: the suite's test points all in the document."""
    validate(api.document)
    assert api.document["openapi"].startswith("3.0")
    assert api.server.endswith("/ogc") and api.get("/").status_code == 200
    for template in ("/conformance", "/collections"):
        assert template in api.document["paths"] and "get" in api.document["paths"][template]
    for collection_id in _collection_ids(api):
        for concrete in (f"/collections/{collection_id}", f"/collections/{collection_id}/items/1"):
            assert any("get" in api.document["paths"][path] for path in api.paths_for(concrete)), concrete
        assert "get" in api.document["paths"][f"/collections/{collection_id}/items"]


def test_limit_bbox_and_datetime_are_defined_as_part_1_has_them(api):
    """FeaturesLimit, FeaturesBBox, FeaturesTime: validateLimitParameter, validateBboxParameter,
    validateDateTimeParameter on every items path."""
    paths = api.paths_like("/collections/.*/items")
    assert len(paths) == len(_collection_ids(api))
    for path in paths:
        limit, bbox, moment = (api.parameter(path, name) for name in ("limit", "bbox", "datetime"))
        for parameter in (limit, bbox, moment):
            assert parameter is not None and parameter["in"] == "query" and not parameter.get("required", False)
            assert parameter["style"] == "form" and parameter["explode"] is False, (path, parameter)
        assert limit["schema"]["type"] == "integer" and limit["schema"]["minimum"] >= 0
        assert limit["schema"]["default"] >= 0 and limit["schema"]["maximum"] >= limit["schema"]["default"]
        assert bbox["schema"]["type"] == "array" and bbox["schema"]["items"]["type"] == "number"
        assert (bbox["schema"]["minItems"], bbox["schema"]["maxItems"]) == (4, 6)
        assert moment["schema"]["type"] == "string"


def test_conformance(api):
    """/conformance-op, conformance-success: core, OpenAPI 3.0 and GeoJSON declared."""
    conforms = api.get("/conformance").json["conformsTo"]
    assert {CORE, CORE.replace("core", "oas30"), CORE.replace("core", "geojson")} <= set(conforms)


def test_collections_and_each_collection(api):
    """FeatureCollections and FeatureCollection: links, extents in CRS84, an items link; each collection's own
    document as the list has it."""
    listed = api.get("/collections").json
    assert _link(listed, "self")
    for collection in listed["collections"]:
        items = _link(collection, "items")
        assert items["type"] == "application/geo+json" and items["href"].endswith(f"/{collection['id']}/items")
        for box in collection.get("extent", {}).get("spatial", {}).get("bbox", []):
            assert len(box) in (4, 6) and CRS84_RANGE.covers(shapely.box(*box[:2], *box[-2:]))
        assert api.get(f"/collections/{collection['id']}").json == collection


def _page_checks(page: dict, before: datetime, limit: int) -> None:
    """What the suite checks of every page: its type, timeStamp, numberReturned and numberMatched, its features."""
    assert page["type"] == "FeatureCollection" and _link(page, "self")
    stamp = datetime.fromisoformat(page["timeStamp"].replace("Z", "+00:00"))
    assert before - timedelta(seconds=1) <= stamp <= datetime.now(UTC) + timedelta(seconds=1)
    assert page["numberReturned"] == len(page["features"]) <= limit
    assert page.get("numberMatched", page["numberReturned"]) >= page["numberReturned"]
    for feature in page["features"]:
        assert feature["type"] == "Feature" and "id" in feature
        assert shapely.geometry.shape(feature["geometry"]).is_valid


def test_items_of_every_collection_at_the_limits_the_document_gives(api):
    """Features and FeaturesLimit: the first page of each collection at the minimum, default and maximum limit."""
    for path in api.paths_like("/collections/.*/items"):
        schema = api.parameter(path, "limit")["schema"]
        for limit in (schema["minimum"], schema["default"], schema["maximum"]):
            before = datetime.now(UTC)
            page = api.get(path, limit=limit)
            assert page.status_code == 200 and page.content_type == "application/geo+json"
            _page_checks(page.json, before, limit)


def _intersects(feature: dict, box: tuple) -> bool:
    geometry = shapely.geometry.shape(feature["geometry"])
    west, south, east, north = box[:2] + box[-2:] if len(box) == 4 else (box[0], box[1], box[3], box[4])
    halves = [(west, south, east, north)] if west <= east else [(west, south, 180, north), (-180, south, east, north)]
    return any(geometry.intersects(shapely.box(*half)) for half in halves)


def test_bbox_the_suites_boxes_and_six_numbers(api):
    """FeaturesBBox: every feature answered for a box meets it, the box of the collection's extent among them,
    across the antimeridian and with heights; a box far from the city finds nothing."""
    for collection_id in ("services", "police-beats", "roads"):
        extent = api.get(f"/collections/{collection_id}").json["extent"]["spatial"]["bbox"][0]
        boxes = [tuple(extent), (extent[0], extent[1], 0.0, extent[2], extent[3], 100.0), *SUITE_BOXES]
        for box in boxes:
            page = api.get(f"/collections/{collection_id}/items", bbox=",".join(map(str, box)), limit=1000).json
            _page_checks(page, datetime.now(UTC) - timedelta(seconds=5), 1000)
            assert all(_intersects(feature, box) for feature in page["features"]), (collection_id, box)
            assert (page["numberReturned"] > 0) == (box[:2] == tuple(extent[:2])), (collection_id, box)
    # Across the antimeridian, with the city on one of its halves.
    around = api.get("/collections/services/items", bbox="100,30,-170,45", limit=1000).json
    assert around["numberReturned"] == api.get("/collections/services/items", bbox="100,30,180,45",
                                               limit=1000).json["numberReturned"] > 0


def test_datetime_instants_and_intervals(api):
    """FeaturesTime: each form the suite sends is taken; features without time all match."""
    everything = api.get("/collections/services/items", limit=50).json["features"]
    for moment in ("2026-12-01T09:00:00Z", "2026-01-01T00:00:00Z/2026-12-31T23:59:59Z", "../2026-12-31T00:00:00Z",
                   "2026-01-01T00:00:00Z/..", "2026-01-01T00:00:00+08:00/"):
        page = api.get("/collections/services/items", limit=50, datetime=moment)
        assert page.status_code == 200 and page.json["features"] == everything, moment


def test_paging_through_next_links_gives_every_feature_once(api):
    """Features (numberMatched against every page's features): following `next` to the end."""
    stored = db.session.scalar(select(func.count()).select_from(ServicePoint))
    db.session.rollback()
    for query in ({"limit": 7}, {"limit": 7, "bbox": "106.0,38.0,106.6,38.7"}):
        page = api.get("/collections/services/items", **query).json
        matched, seen = page.get("numberMatched"), []
        while True:
            seen += [feature["id"] for feature in page["features"]]
            following = [link for link in page["links"] if link["rel"] == "next"]
            if not following:
                break
            page = api.client.get(following[0]["href"]).json
        assert len(seen) == len(set(seen)) == stored and matched in (None, stored), query


def test_single_feature(api):
    """Feature: each collection's first feature by its id, with its self and collection links."""
    for collection_id in _collection_ids(api):
        first = api.get(f"/collections/{collection_id}/items", limit=1).json["features"][0]
        feature = api.get(f"/collections/{collection_id}/items/{first['id']}")
        assert feature.status_code == 200 and feature.content_type == "application/geo+json"
        assert feature.json["id"] == first["id"] and feature.json["geometry"] == first["geometry"]
        assert _link(feature.json, "self")["href"].endswith(f"/{collection_id}/items/{first['id']}")
        assert _link(feature.json, "collection")


def test_error_conditions(api):
    """FeaturesErrorConditions and the 404s: a parameter the API does not know, a bad limit, a collection or
    feature that is not there, each in the OGC shape."""
    for path, query, status in [("/collections/services/items", {"unknown": "1"}, 400),
                                ("/collections/services/items", {"limit": "many"}, 400),
                                ("/collections/services/items", {"bbox": "1,2,3"}, 400),
                                ("/collections/nowhere", {}, 404),
                                ("/collections/services/items/999999999", {}, 404)]:
        answer = api.get(path, **query)
        assert answer.status_code == status and {"code", "description"} <= set(answer.json), (path, query)
