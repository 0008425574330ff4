"""Standard clients of OGC API - Features against a live server, unchanged: GDAL's ogr2ogr copying collections
into a GeoPackage, and OWSLib reading (collections, items by box, queryables) and writing (Part 4)."""

import shutil
import subprocess

import pyogrio
import pytest
from owslib.ogcapi.features import Features
from sqlalchemy import func, select

from platesvc.store.database import db
from platesvc.store.models import AuditEvent, Building, Plate, PlateStatus, PoliceBeat, Role, ServicePoint


@pytest.fixture(scope="session")
def ogr2ogr(ogrinfo):
    """GDAL's ogr2ogr (beside ogrinfo, from gdal-bin)."""
    return shutil.which("ogr2ogr")


def test_ogr2ogr_copies_collections_to_a_geopackage_a_thousand_at_a_time(live_server, ogr2ogr, tmp_path):
    copy = tmp_path / "city.gpkg"
    collections = {"plates": select(func.count()).select_from(Plate).where(Plate.status != PlateStatus.RETIRED),
                   "services": select(func.count()).select_from(ServicePoint),
                   "police-beats": select(func.count()).select_from(PoliceBeat)}
    subprocess.run([ogr2ogr, "-f", "GPKG", str(copy), f"OAPIF:{live_server}/ogc", *collections,
                    "-oo", "PAGE_SIZE=1000"], capture_output=True, text=True, check=True)
    layers = dict(pyogrio.list_layers(copy))
    for collection_id, count in collections.items():
        stored = db.session.scalar(count)
        assert stored > (1000 if collection_id == "plates" else 0)  # more than one page of plates
        assert pyogrio.read_info(copy, layer=collection_id)["features"] == stored, collection_id
    assert layers == {"plates": "Point", "services": "Point", "police-beats": "MultiPolygon"}


def test_owslib_reads_collections_items_by_box_and_queryables(live_server):
    api = Features(f"{live_server}/ogc")
    ids = [collection["id"] for collection in api.collections()["collections"]]
    assert {"plates", "services", "culture-zones", "police-beats"} <= set(ids)
    assert "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete" in api.conformance()[
        "conformsTo"]
    west, south, east, north = api.collection("services")["extent"]["spatial"]["bbox"][0]
    middle = ((west + east) / 2, (south + north) / 2)
    box = [middle[0] - 0.05, middle[1] - 0.05, middle[0] + 0.05, middle[1] + 0.05]
    page = api.collection_items("services", bbox=box, limit=1000)
    assert page["features"] and page["numberReturned"] == len(page["features"])
    for feature in page["features"]:
        lon, lat = feature["geometry"]["coordinates"]
        assert box[0] <= lon <= box[2] and box[1] <= lat <= box[3]
    queryables = api.collection_queryables("services")
    assert {"name", "category", "geometry"} <= set(queryables["properties"])


def test_owslib_creates_replaces_and_deletes_a_service_point(live_server, tokens, staff):
    point = db.session.scalar(select(Building.point).limit(1))
    db.session.rollback()
    api = Features(f"{live_server}/ogc", headers={"Authorization": f"Bearer {tokens[Role.OPERATOR]}"})
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [point.x, point.y]},
               "properties": {"source_id": "owslib-1", "name": "OWSLib 助餐点", "category": "meal_point"}}
    assert api.collection_item_create("services", feature)
    service_id = api.response_headers["Location"].rsplit("/", 1)[1]
    assert api.collection_item("services", service_id)["properties"]["name"] == "OWSLib 助餐点"

    # OWSLib sends its headers with every call: If-Match goes with the write it is for (a GET that carries a
    # stale one is a 412 too, as HTTP has it).
    read_tag = api.response_headers["ETag"]
    feature["properties"]["name"] = "OWSLib 改名"
    api.headers["If-Match"] = read_tag
    assert api.collection_item_update("services", service_id, feature)
    with pytest.raises(RuntimeError, match="has changed since"):  # the tag of the state before the rename
        api.collection_item_delete("services", service_id)
    del api.headers["If-Match"]
    assert api.collection_item("services", service_id)["properties"]["name"] == "OWSLib 改名"

    api.headers["If-Match"] = api.response_headers["ETag"]
    assert api.collection_item_delete("services", service_id)
    del api.headers["If-Match"]
    with pytest.raises(RuntimeError, match="has no feature"):
        api.collection_item("services", service_id)
    actions = db.session.execute(select(AuditEvent.action, AuditEvent.actor).where(
        AuditEvent.subject_type == "service", AuditEvent.subject_id == service_id).order_by(AuditEvent.id)).all()
    assert [tuple(row) for row in actions] == [(action, staff[Role.OPERATOR].username) for action in (
        "service.added", "service.edited", "service.removed")]
