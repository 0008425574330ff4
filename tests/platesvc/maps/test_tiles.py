"""Vector tiles on every backend: each tile holds what brute force says it should, TileJSON, and the
answers for empty, missing and unchanged tiles."""

import math
import subprocess
import time
from pathlib import Path

import mapbox_vector_tile
import pytest
import shapely
from sqlalchemy import select, text

from gis.tiles import BUFFER, mercator_bounds, to_mercator
from platesvc.maps import tiles
from platesvc.store.database import db
from platesvc.store.models import (
    Building,
    BuildingStatus,
    Division,
    Plate,
    PoliceBeat,
    Road,
    ServicePoint,
)

PIXEL = 1 / 4096  # of a tile's width: less than this may vanish when quantised


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def _decoded(client, layer: str, z: int, x: int, y: int) -> dict[int, dict]:
    answer = client.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt")
    if answer.status_code == 204:
        return {}
    assert answer.status_code == 200 and answer.mimetype == "application/vnd.mapbox-vector-tile"
    return {f["id"]: f for f in mapbox_vector_tile.decode(answer.data)[layer]["features"]}


def _busiest_tile(z: int) -> tuple[int, int]:
    """The tile at zoom z holding the most plates, so the comparison has something to compare."""
    counts = {}
    for point in db.session.scalars(select(Building.point)):
        tile = _tile_of(point.x, point.y, z)
        counts[tile] = counts.get(tile, 0) + 1
    return max(counts, key=counts.get)


def test_point_layers_hold_exactly_the_points_in_the_tile_and_its_buffer(issued_app, client):
    z = 15
    x, y = _busiest_tile(z)
    grown = shapely.box(*mercator_bounds(z, x, y, BUFFER))
    plates = {building_id: plate_id for building_id, plate_id, point, status in db.session.execute(
        select(Building.id, Plate.id, Building.point, Building.status).join(Plate))
        if status == BuildingStatus.ACTIVE and grown.intersects(to_mercator(point))}
    tile = _decoded(client, "plates", z, x, y)
    assert plates and set(tile) == set(plates)
    assert all(tile[i]["properties"]["plate_id"] == plate_id for i, plate_id in plates.items())
    assert {"road", "number", "status"} <= set(next(iter(tile.values()))["properties"])
    z = 12
    x, y = _busiest_tile(z)
    grown = shapely.box(*mercator_bounds(z, x, y, BUFFER))
    services = {i for i, point in db.session.execute(select(ServicePoint.id, ServicePoint.geom))
                if grown.intersects(to_mercator(point))}
    assert services and set(_decoded(client, "services", z, x, y)) == services


@pytest.mark.parametrize(("layer", "model", "z"), [("roads", Road, 13), ("beats", PoliceBeat, 13)])
def test_line_and_polygon_layers_match_brute_force(issued_app, client, layer, model, z):
    x, y = _busiest_tile(z)
    tile_box = shapely.box(*mercator_bounds(z, x, y))
    grown = shapely.box(*mercator_bounds(z, x, y, BUFFER))
    width = mercator_bounds(z, x, y)[2] - mercator_bounds(z, x, y)[0]
    stored = {i: to_mercator(g) for i, g in db.session.execute(select(model.id, model.geom))}
    may_show = {i for i, g in stored.items() if grown.intersects(g)}
    must_show = {i for i, g in stored.items()
                 if (g.intersection(tile_box).length if layer == "roads" else
                     math.sqrt(g.intersection(tile_box).area)) > 2 * PIXEL * width}
    shown = set(_decoded(client, layer, z, x, y))
    assert must_show and must_show <= shown <= may_show


def test_empty_out_of_range_and_unchanged_tiles(issued_app, client):
    empty = client.get("/tiles/plates/15/0/0.mvt")  # the middle of the Pacific, far from Yinchuan
    assert empty.status_code == 204 and not empty.data and "Content-Type" not in empty.headers
    assert client.get("/tiles/plates/15/40000/0.mvt").status_code == 404
    assert client.get("/tiles/plates/3/6/3.mvt").status_code == 404  # below the layer's zoom levels
    assert client.get("/tiles/parks/15/0/0.mvt").status_code == 404
    x, y = _busiest_tile(15)
    first = client.get(f"/tiles/plates/15/{x}/{y}.mvt")
    assert first.headers["Cache-Control"] == "public, max-age=60" and first.headers["ETag"]
    again = client.get(f"/tiles/plates/15/{x}/{y}.mvt", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_tilejson_describes_each_layer(issued_app, client):
    for layer in ("plates", "services", "beats", "roads"):
        document = client.get(f"/tiles/{layer}.json").json
        assert document["tilejson"] == "3.0.0"
        assert document["tiles"][0].endswith(f"/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt")
        west, south, east, north = document["bounds"]
        assert 105.5 < west < east < 107.5 and 37.5 < south < north < 39.5
        assert document["vector_layers"][0]["id"] == layer
        assert document["minzoom"] <= document["center"][2] <= document["maxzoom"]
    assert set(client.get("/tiles/plates.json").json["vector_layers"][0]["fields"]) == {
        "plate_id", "road", "number", "status"}


def test_the_map_style_validates_and_draws_every_layer_from_this_server(issued_app, client, style_validator,
                                                                        tmp_path):
    answer = client.get("/tiles/style.json")
    assert answer.status_code == 200 and answer.access_control_allow_origin == "*"
    style = answer.json
    saved = tmp_path / "style.json"
    saved.write_text(answer.text, encoding="utf-8")
    checked = subprocess.run([style_validator, saved], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert {source["url"] for source in style["sources"].values()} == {"http://localhost/tiles/map.json"}
    drawn = {layer["source-layer"] for layer in style["layers"] if "source-layer" in layer}
    assert drawn == set(tiles.LAYERS)
    for source in style["sources"].values():  # every source is a TileJSON this server answers
        assert client.get(source["url"].removeprefix("http://localhost")).status_code == 200
    again = client.get("/tiles/style.json", headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304


def test_a_kept_tile_is_made_again_only_when_the_map_changes_in_its_box(issued_app, client, monkeypatch):
    made = []
    make = tiles.tile
    monkeypatch.setattr(tiles, "tile", lambda *args: made.append(args[2:]) or make(*args))
    x, y = _busiest_tile(15)
    path = f"/tiles/plates/15/{x}/{y}.mvt"
    first = _decoded(client, "plates", 15, x, y)
    _decoded(client, "plates", 15, x, y)
    assert made == [(15, x, y)]  # kept
    plate = db.session.scalars(select(Plate).join(Building).where(Building.id.in_(first))).first()
    elsewhere = db.session.scalars(select(Plate).join(Building).where(Building.point.is_not(None))
                                   .order_by(Plate.id.desc())).first()
    elsewhere_tile = _tile_of(elsewhere.building.point.x, elsewhere.building.point.y, 15)
    assert elsewhere_tile != (x, y)
    with db.engine.begin() as connection:  # as another process or a console would: no session sees it
        connection.execute(text("UPDATE plates SET status = 'missing' WHERE id = :id"), {"id": elsewhere.id})
    _decoded(client, "plates", 15, x, y)
    assert len(made) == 1  # a change elsewhere leaves this tile as it was
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE plates SET status = 'damaged' WHERE id = :id"), {"id": plate.id})
    again = _decoded(client, "plates", 15, x, y)
    assert len(made) == 2 and again[plate.building_id]["properties"]["status"] == "damaged"
    road = db.session.get(Road, plate.building.road_id)
    road.name = "改名路"
    db.session.commit()
    assert _decoded(client, "plates", 15, x, y)[plate.building_id]["properties"]["road"] == "改名路"
    # Kept again, once no transaction on the server that began before the rename is still open
    # (PostgreSQL: until then a change might be unseen, so the tile is made again to be sure).
    for _ in range(100):
        made_before = len(made)
        assert client.get(path).status_code == 200
        if len(made) == made_before:
            break
        time.sleep(0.05)
    assert len(made) == made_before


def test_the_buildings_layer_holds_every_footprint_in_the_tile_with_its_door_number(issued_app, client):
    z = 16
    x, y = _busiest_tile(z)
    tile_box = shapely.box(*mercator_bounds(z, x, y))
    stored = {i: (to_mercator(footprint), number) for i, footprint, number in db.session.execute(
        select(Building.id, Building.footprint, Building.number).where(
            Building.status == BuildingStatus.ACTIVE, Building.footprint.is_not(None)))}
    must_show = {i for i, (footprint, _) in stored.items() if footprint.intersects(tile_box)}
    tile = _decoded(client, "buildings", z, x, y)
    assert must_show and must_show <= set(tile)
    assert all(tile[i]["properties"].get("number") == stored[i][1] for i in must_show)
    assert {feature["geometry"]["type"] for feature in tile.values()} <= {"Polygon", "MultiPolygon"}
    assert client.get(f"/tiles/buildings/14/{x // 4}/{y // 4}.mvt").status_code == 404  # footprints from 15


def test_divisions_and_place_names_show_more_detail_as_the_map_zooms_in(issued_app, client):
    divisions = {i: (level, name, geom) for i, level, name, geom in db.session.execute(
        select(Division.id, Division.level, Division.name, Division.geom))}
    x, y = _busiest_tile(8)
    city = _decoded(client, "divisions", 8, x, y)
    assert city and {feature["properties"]["level"] for feature in city.values()} == {"district"}
    x, y = _busiest_tile(14)
    close = _decoded(client, "divisions", 14, x, y)
    assert {"district", "subdistrict", "community"} <= {feature["properties"]["level"] for feature in close.values()}
    places = _decoded(client, "places", 14, x, y)
    assert places
    for division_id, feature in places.items():  # a name is drawn at a point inside its division
        level, name, geom = divisions[division_id]
        assert feature["geometry"]["type"] == "Point" and feature["properties"]["name"] == name
        left, bottom, right, top = mercator_bounds(14, x, y)
        gx, gy = feature["geometry"]["coordinates"]
        point = shapely.Point(left + gx / 4096 * (right - left), bottom + gy / 4096 * (top - bottom))
        assert to_mercator(geom).buffer(2 * PIXEL * (right - left)).contains(point)


def test_division_tiles_are_made_again_after_a_division_changes(issued_app, client):
    x, y = _busiest_tile(8)
    before = _decoded(client, "places", 8, x, y)
    district = db.session.get(Division, next(iter(before)))
    district.name = "新名区"
    db.session.commit()
    assert _decoded(client, "places", 8, x, y)[district.id]["properties"]["name"] == "新名区"


def _glyph_messages(data: bytes) -> dict[int, dict]:
    """The glyphs of a glyph PBF (one fontstack) by code point: a small protobuf reader."""
    def varint(at):
        value = shift = 0
        while True:
            byte = data[at]
            at += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value, at

    def fields(start, end):
        at = start
        while at < end:
            key, at = varint(at)
            if key & 7 == 2:
                length, at = varint(at)
                yield key >> 3, (at, at + length)
                at += length
            else:
                value, at = varint(at)
                yield key >> 3, value

    glyphs = {}
    for _, (stack_start, stack_end) in fields(0, len(data)):
        for number, value in fields(stack_start, stack_end):
            if number == 3:
                glyph = {}
                for field, part in fields(*value):
                    glyph[field] = data[part[0]:part[1]] if field == 2 else part
                glyphs[glyph[1]] = glyph
    return glyphs


def test_the_styles_glyphs_are_built_from_a_local_font_and_served_here(issued_app, client, tmp_path, monkeypatch):
    from platesvc.maps import glyphs
    from platesvc.web import tiles as tile_views
    font = next((path for path in glyphs.FONT_CANDIDATES if Path(path).exists()), None)
    if font is None:
        pytest.skip("fonts-noto-cjk is not installed")
    written = glyphs.build(tmp_path, Path(font))
    assert [path.name for path in written] == [f"{start}-{start + 255}.pbf" for start in glyphs.RANGES]
    monkeypatch.setattr(tile_views, "GLYPHS_FOLDER", str(tmp_path))
    style = client.get("/tiles/style.json").json
    assert style["glyphs"] == "http://localhost/tiles/glyphs/{fontstack}/{range}.pbf"
    fonts = {font for layer in style["layers"] for font in layer.get("layout", {}).get("text-font", [])}
    assert fonts == {glyphs.FONTSTACK}
    answer = client.get(f"/tiles/glyphs/{glyphs.FONTSTACK}/0-255.pbf", headers={"Accept-Encoding": "gzip"})
    assert answer.status_code == 200 and answer.headers["Content-Encoding"] == "gzip"
    assert answer.headers["Cache-Control"] == "public, max-age=86400"
    plain = client.get(f"/tiles/glyphs/{glyphs.FONTSTACK}/0-255.pbf").data
    found = _glyph_messages(plain)
    assert set(map(ord, "0123456789-ABCxyz")) <= set(found)
    eight = found[ord("8")]
    width, height = eight[3], eight[4]
    assert 8 <= width <= 20 and 14 <= height <= 22 and len(eight[2]) == (width + 6) * (height + 6)
    assert max(eight[2]) > 191 > min(eight[2])  # ink inside the edge, none outside
    # Chinese comes from the device's font: no ideograph range is served, nor anything outside the folder.
    assert client.get(f"/tiles/glyphs/{glyphs.FONTSTACK}/19968-20223.pbf").status_code == 404
    assert client.get("/tiles/glyphs/../0-255.pbf").status_code == 404


def test_the_composite_tile_holds_every_layer_of_its_zoom_as_each_layers_own_tile_does(issued_app, client):
    document = client.get("/tiles/map.json").json
    assert {layer["id"] for layer in document["vector_layers"]} == set(tiles.LAYERS)
    assert document["tiles"][0].endswith("/tiles/map/{z}/{x}/{y}.mvt") and document["maxzoom"] == 16
    for z in (8, 14, 16):
        x, y = _busiest_tile(z)
        answer = client.get(f"/tiles/map/{z}/{x}/{y}.mvt")
        assert answer.status_code == 200
        together = mapbox_vector_tile.decode(answer.data)
        shown = {name for name, layer in tiles.LAYERS.items() if layer.min_zoom <= z}
        assert set(together) == {name for name in shown if _decoded(client, name, z, x, y)}
        for name in together:
            assert {f["id"] for f in together[name]["features"]} == set(_decoded(client, name, z, x, y))
    assert client.get("/tiles/map/17/0/0.mvt").status_code == 404  # drawn from zoom 16's beyond it
    assert client.get("/tiles/map/7/0/0.mvt").status_code == 404
