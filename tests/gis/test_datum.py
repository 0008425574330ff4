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


# Published pairs, from the test suites of open-source converters (eviltransform's
# python/test.py; coordtransform's README; gcoord's GCJ02.spec.ts), as (lon, lat).
WGS84_TO_GCJ02 = [
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),  # Beijing
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),  # Shanghai
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),  # Shenzhen
    ((116.404, 39.915), (116.41024449916938, 39.91640428150164)),  # Beijing
]
GCJ02_TO_BD09 = [
    ((116.404, 39.915), (116.41036949371029, 39.92133699351021)),
    ((123.0, 45.0), (123.00636499, 45.00636899)),
]


@pytest.mark.parametrize("wgs84, gcj02", WGS84_TO_GCJ02)
def test_wgs84_to_gcj02_matches_published_pairs(wgs84, gcj02):
    assert tuple(map(float, wgs84_to_gcj02(*wgs84))) == pytest.approx(gcj02, abs=1e-7)
    assert tuple(map(float, gcj02_to_wgs84(*gcj02))) == pytest.approx(wgs84, abs=1e-7)


@pytest.mark.parametrize("gcj02, bd09", GCJ02_TO_BD09)
def test_gcj02_to_bd09_matches_published_pairs(gcj02, bd09):
    assert tuple(map(float, gcj02_to_bd09(*gcj02))) == pytest.approx(bd09, abs=1e-7)
    assert tuple(map(float, bd09_to_gcj02(*bd09))) == pytest.approx(gcj02, abs=1e-7)


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
