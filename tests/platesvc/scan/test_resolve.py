"""The JSON resolve API on the demo city, on every backend, checked against brute force."""

import re
from urllib.parse import unquote

import numpy as np
import pytest
import shapely
from sqlalchemy import select, update

from gis.datum import wgs84_to_bd09, wgs84_to_gcj02
from gis.nearest import geodesic_distance
from platesvc.registry.audit import SYSTEM
from platesvc.registry.lifecycle import retire_building
from platesvc.registry.plate_ids import parse_plate_id
from platesvc.store.database import db
from platesvc.store.models import (
    Building,
    BuildingNearest,
    Officer,
    Plate,
    PlateStatus,
    PoliceBeat,
    ServiceCategory,
    ServicePoint,
)

SAMPLE = 25


def _plates(count=None):
    query = select(Plate).order_by(Plate.id)
    plates = db.session.scalars(query).all()
    if count is None:
        return plates
    return [plates[i] for i in np.linspace(0, len(plates) - 1, count).astype(int)]


def test_every_plate_resolves(issued_app, client):
    plates = _plates()
    assert len(plates) == db.session.query(Building).count()
    for plate in plates:
        answer = client.get(f"/api/v1/plates/{plate.id}")
        assert answer.status_code == 200, plate.id
        document = answer.json
        assert document["id"] == plate.id and document["display_id"] == parse_plate_id(plate.id).display
        assert document["url"] == f"HTTPS://PLATES.EXAMPLE/P/{plate.id}"
        assert document["address"]["number"] and document["address"]["road"] in document["address"]["full"]


def test_any_accepted_spelling_gives_the_canonical_plate(issued_app, client):
    plate = _plates(1)[0]
    display = parse_plate_id(plate.id).display
    for spelling in (plate.id.lower(), display, display.lower().replace("-", " "), plate.id.replace("0", "O")):
        answer = client.get(f"/api/v1/plates/{spelling}")
        assert answer.status_code == 200 and answer.json["id"] == plate.id, spelling


def test_the_beat_is_the_polygon_that_contains_the_building(issued_app, client):
    beats = db.session.execute(select(PoliceBeat.name, PoliceBeat.geom)).all()
    for plate in _plates(SAMPLE):
        point = plate.building.point
        containing = [name for name, geom in beats if geom.covers(point)]
        police = client.get(f"/api/v1/plates/{plate.id}").json["police"]
        assert (police["beat"] if police else None) == (containing[0] if containing else None)
        if police:
            assert police["officer"] and police["phone"]


def test_each_listed_service_is_the_links_nearest_on_foot_with_its_straight_line(issued_app, client):
    """The links are checked against networkx in test_links; the page lists them in their order, each with its
    straight-line distance measured on the ellipsoid."""
    services = {i: g for i, g in db.session.execute(select(ServicePoint.id, ServicePoint.geom)).all()}
    for plate in _plates(SAMPLE):
        point = plate.building.point
        nearest = client.get(f"/api/v1/plates/{plate.id}").json["nearest"]
        assert set(nearest) == {category.value for category in ServiceCategory}
        for category, listed in nearest.items():
            stored = db.session.execute(select(BuildingNearest.service_point_id, BuildingNearest.walk_m)
                                        .where(BuildingNearest.building_id == plate.building_id,
                                               BuildingNearest.category == category)
                                        .order_by(BuildingNearest.rank)).all()
            assert [(entry["id"], entry["walk_m"]) for entry in listed] == [
                (service_id, pytest.approx(walk, abs=0.1)) for service_id, walk in stored]
            distance = geodesic_distance(np.full(len(listed), point.x), np.full(len(listed), point.y),
                                         [services[e["id"]].x for e in listed], [services[e["id"]].y for e in listed])
            assert [entry["distance_m"] for entry in listed] == pytest.approx(distance.tolist(), abs=0.1)
            assert all(entry["category"] == category and entry["name"] for entry in listed)


def test_locations_and_app_urls_carry_each_apps_datum(issued_app, client):
    document = client.get(f"/api/v1/plates/{_plates(1)[0].id}").json
    lon, lat = document["location"]["wgs84"]
    gcj = [float(v) for v in wgs84_to_gcj02(lon, lat)]
    bd = [float(v) for v in wgs84_to_bd09(lon, lat)]
    assert document["location"]["gcj02"] == pytest.approx(gcj, abs=2e-6)
    assert document["location"]["bd09"] == pytest.approx(bd, abs=2e-6)
    links = document["navigation"]

    def numbers(pattern, url):
        return [float(v) for v in re.search(pattern, unquote(url)).groups()]

    assert numbers(r"position=([\d.]+),([\d.]+)", links["amap"]) == pytest.approx(gcj, abs=2e-6)
    assert "coordinate=gaode" in links["amap"]
    assert numbers(r"location=([\d.]+),([\d.]+)", links["baidu"])[::-1] == pytest.approx(bd, abs=2e-6)
    assert "coord_type=bd09ll" in links["baidu"]
    assert numbers(r"coord:([\d.]+),([\d.]+)", links["tencent"])[::-1] == pytest.approx(gcj, abs=2e-6)
    assert numbers(r"ll=([\d.]+),([\d.]+)", links["apple"])[::-1] == pytest.approx(gcj, abs=2e-6)
    assert numbers(r"^geo:([\d.]+),([\d.]+)", links["geo"])[::-1] == pytest.approx([lon, lat], abs=2e-6)
    assert all(url.startswith("https://") for app, url in links.items() if app != "geo")
    assert document["address"]["road"] in unquote(links["amap"])
    service = next(entry for entries in document["nearest"].values() for entry in entries)
    assert service["name"] in unquote(service["navigation"]["baidu"])


def test_a_mistyped_id_is_404_and_offers_the_plate_one_character_away(issued_app, client):
    plate = _plates(1)[0].id
    typo = plate[:8] + ("7" if plate[8] != "7" else "8") + plate[9:]
    answer = client.get(f"/api/v1/plates/{typo}")
    assert answer.status_code == 404
    assert plate in answer.json["suggestions"]
    assert "check character" in answer.json["message"]
    assert client.get("/api/v1/plates/not-a-plate").status_code == 404


def test_a_well_formed_id_that_was_never_issued_is_404(issued_app, client):
    unissued = parse_plate_id(_plates(1)[0].id)
    never = next(str(candidate) for serial in range(90000, 91000)
                 if (candidate := _issuable("640181", serial)) is not None)
    answer = client.get(f"/api/v1/plates/{never}")
    assert answer.status_code == 404 and "has been issued" in answer.json["message"]
    assert unissued.canonical not in answer.json["suggestions"]


def _issuable(prefix, serial):
    from platesvc.registry.plate_ids import PlateId, is_issuable

    return PlateId(prefix, serial) if is_issuable(prefix, serial) else None


def test_a_retired_plate_is_410_with_where_its_building_went(issued_app, client):
    gone, merged, kept = _plates(3)
    retire_building(db.session, gone.building, SYSTEM, "demolished")
    retire_building(db.session, merged.building, SYSTEM, "merged", kept.building)
    db.session.commit()
    answer = client.get(f"/api/v1/plates/{gone.id}")
    assert answer.status_code == 410 and answer.json["successor"] is None
    answer = client.get(f"/api/v1/plates/{merged.id}")
    assert answer.status_code == 410 and answer.json["successor"] == kept.id
    assert merged.id not in client.get(f"/api/v1/plates/{merged.id[:-1]}").json["suggestions"]


def test_a_repeat_request_is_304_until_what_it_shows_changes(issued_app, client):
    plate = next(p for p in _plates(SAMPLE) if client.get(f"/api/v1/plates/{p.id}").json["police"])
    first = client.get(f"/api/v1/plates/{plate.id}")
    tag = first.headers["ETag"]
    assert "no-cache" in first.headers["Cache-Control"]
    assert client.get(f"/api/v1/plates/{plate.id}", headers={"If-None-Match": tag}).status_code == 304
    officer = db.session.scalars(select(Officer).join(PoliceBeat).where(
        PoliceBeat.name == first.json["police"]["beat"])).first()
    officer.phone = "0951-6000000"
    db.session.commit()
    changed = client.get(f"/api/v1/plates/{plate.id}", headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["ETag"] != tag
    assert changed.json["police"]["phone"] == "0951-6000000"


def test_a_plate_change_shows_on_the_next_scan_though_its_answers_were_rendered_before(issued_app, client):
    plate = _plates(1)[0]
    json_tag = client.get(f"/api/v1/plates/{plate.id}").headers["ETag"]
    page_tag = client.get(f"/P/{plate.id}").headers["ETag"]
    assert client.get(f"/api/v1/plates/{plate.id}").headers["ETag"] == json_tag  # the same body again
    with db.engine.begin() as connection:  # as another process would
        connection.execute(update(Plate).where(Plate.id == plate.id).values(status=PlateStatus.INSTALLED))
        connection.execute(update(Building).where(Building.id == plate.building_id).values(number="999"))
    answer = client.get(f"/api/v1/plates/{plate.id}", headers={"If-None-Match": json_tag})
    assert answer.status_code == 200 and answer.json["status"] == "installed"
    assert answer.json["address"]["number"] == "999"
    page = client.get(f"/P/{plate.id}", headers={"If-None-Match": page_tag})
    assert page.status_code == 200 and "999" in page.text


def test_a_new_service_point_shows_on_the_next_scan(issued_app, client):
    from platesvc.reference import links

    plate = _plates(1)[0]
    point = plate.building.point
    service = ServicePoint(source_id="NEW-ELDERLY", category="elderly_care", name="新开社区养老服务站",
                           phone="0951-5000000", hours="08:00-20:00",
                           geom=shapely.Point(point.x + 0.0002, point.y))
    db.session.add(service)
    db.session.flush()
    links.refresh_after_service_change(db.session, service)
    db.session.commit()
    first = client.get(f"/api/v1/plates/{plate.id}").json["nearest"]["elderly_care"][0]
    assert first["name"] == "新开社区养老服务站" and first["distance_m"] < 25
