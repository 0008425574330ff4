"""Web Mercator tile arithmetic and vector tile encoding."""

import mapbox_vector_tile
import pytest
import shapely
from pyproj import Transformer

from gis.tiles import (
    BUFFER,
    EXTENT,
    HALF_WORLD_M,
    encode_layer,
    is_tile,
    lonlat_bounds,
    mercator_bounds,
    to_mercator,
)


def test_tile_bounds_at_the_corners_of_the_world():
    assert mercator_bounds(0, 0, 0) == pytest.approx((-HALF_WORLD_M, -HALF_WORLD_M, HALF_WORLD_M, HALF_WORLD_M))
    west, south, east, north = lonlat_bounds(1, 1, 0)
    assert (west, east) == pytest.approx((0, 180)) and south == pytest.approx(0, abs=1e-9)
    assert north == pytest.approx(85.0511287798, abs=1e-6)
    grown = mercator_bounds(10, 843, 388, BUFFER)
    plain = mercator_bounds(10, 843, 388)
    assert grown[2] - grown[0] == pytest.approx((plain[2] - plain[0]) * (EXTENT + 2 * BUFFER) / EXTENT)


@pytest.mark.parametrize(("z", "x", "y", "valid"), [(0, 0, 0, True), (3, 7, 7, True), (3, 8, 0, False),
                                                      (3, 0, -1, False), (31, 0, 0, False)])
def test_which_tiles_exist(z, x, y, valid):
    assert is_tile(z, x, y) is valid


@pytest.mark.parametrize(("lon", "lat"), [(106.23, 38.49), (-73.99, 40.75), (0, 0), (179.9, -60)])
def test_mercator_agrees_with_proj(lon, lat):
    expected = Transformer.from_crs(4326, 3857, always_xy=True).transform(lon, lat)
    point = to_mercator(shapely.Point(lon, lat))
    assert (point.x, point.y) == pytest.approx(expected, abs=0.01)


def test_a_layer_round_trips_through_the_encoding():
    z, x, y = 14, 13027, 6222  # central Yinchuan
    west, south, east, north = lonlat_bounds(z, x, y)
    inside = shapely.Point((west + east) / 2, (south + north) / 2)
    outside = shapely.Point(east + (east - west), north)
    line = shapely.LineString([(west - 1, south - 0.001), (east + 1, north + 0.001)])
    data = encode_layer("things", z, x, y, [1, 2, 3], [inside, outside, line],
                        [{"name": "里面", "empty": None}, {"name": "outside"}, {"name": "line"}])
    layer = mapbox_vector_tile.decode(data)["things"]
    assert layer["extent"] == EXTENT
    by_id = {feature["id"]: feature for feature in layer["features"]}
    assert set(by_id) == {1, 3}
    assert by_id[1]["properties"] == {"name": "里面"}
    assert by_id[1]["geometry"]["coordinates"] == [2048, 2048]
    xs = [c[0] for c in by_id[3]["geometry"]["coordinates"]]
    assert min(xs) >= -BUFFER and max(xs) <= EXTENT + BUFFER  # clipped to the buffer
    assert encode_layer("things", z, x, y, [2], [outside], [{}]) == b""
