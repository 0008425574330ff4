import numpy as np
import pytest
import shapely

from gis.datum import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    transform_geometries,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

YINCHUAN_DRUM_TOWER = (106.2876, 38.4707)


def _metres(lon_a, lat_a, lon_b, lat_b):
    lat = np.radians((lat_a + lat_b) / 2)
    return np.hypot((lon_a - lon_b) * 111_320 * np.cos(lat), (lat_a - lat_b) * 110_574)


def test_gcj02_shift_in_yinchuan_is_a_few_hundred_metres():
    lon, lat = wgs84_to_gcj02(*YINCHUAN_DRUM_TOWER)
    assert 100 < _metres(lon, lat, *YINCHUAN_DRUM_TOWER) < 800


@pytest.mark.parametrize("forward, inverse", [
    (wgs84_to_gcj02, gcj02_to_wgs84),
    (gcj02_to_bd09, bd09_to_gcj02),
    (wgs84_to_bd09, bd09_to_wgs84),
])
def test_round_trips_within_a_millimetre(forward, inverse):
    rng = np.random.default_rng(0)
    lon = rng.uniform(73, 135, 500)
    lat = rng.uniform(18, 53, 500)
    back_lon, back_lat = inverse(*forward(lon, lat))
    assert _metres(back_lon, back_lat, lon, lat).max() < 0.001


@pytest.mark.parametrize("point", [(2.35, 48.85), (-74.0, 40.7), (151.2, -33.9)])
def test_points_outside_china_are_not_shifted(point):
    assert wgs84_to_gcj02(*point) == pytest.approx(point)
    assert gcj02_to_wgs84(*point) == pytest.approx(point)


def test_transform_geometries_moves_every_vertex():
    square = shapely.box(106.2, 38.4, 106.3, 38.5)
    moved = transform_geometries(square, wgs84_to_gcj02)
    for (x, y), (mx, my) in zip(square.exterior.coords, moved.exterior.coords):
        assert (mx, my) == pytest.approx(tuple(float(v) for v in wgs84_to_gcj02(x, y)))
