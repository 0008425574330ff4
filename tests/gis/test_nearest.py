import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gis.nearest import GEOD, bbox_around, geodesic_distance, k_nearest, nearest_by_boxes, within_by_boxes


def test_k_nearest_matches_brute_force_geodesic_order():
    rng = np.random.default_rng(3)
    origins = np.column_stack([rng.uniform(106.1, 106.4, 400), rng.uniform(38.3, 38.6, 400)])
    targets = np.column_stack([rng.uniform(106.1, 106.4, 40), rng.uniform(38.3, 38.6, 40)])
    indices, distances = k_nearest(origins, targets, 3)
    for (lon, lat), listed, metres in zip(origins, indices, distances):
        brute = geodesic_distance(np.full(40, lon), np.full(40, lat), targets[:, 0], targets[:, 1])
        assert listed.tolist() == np.argsort(brute, kind="stable")[:3].tolist()
        assert metres == pytest.approx(np.sort(brute)[:3])


def test_k_nearest_with_fewer_targets_than_k():
    indices, distances = k_nearest([[106.3, 38.5]], [[106.31, 38.5]], 3)
    assert indices.shape == distances.shape == (1, 1)
    assert k_nearest([[106.3, 38.5]], np.empty((0, 2)), 3)[0].shape == (1, 0)


@settings(max_examples=300, deadline=None)
@given(lon=st.floats(73, 135), lat=st.floats(-60, 60), radius=st.floats(1, 50_000),
       azimuth=st.floats(0, 360), share=st.floats(0, 1))
def test_bbox_around_holds_every_point_within_the_radius_and_little_more(lon, lat, radius, azimuth, share):
    min_lon, min_lat, max_lon, max_lat = bbox_around(lon, lat, radius)
    [x], [y], _ = GEOD.fwd([lon], [lat], [azimuth], [radius * share])
    assert min_lon <= x <= max_lon and min_lat <= y <= max_lat
    lons, lats, _ = GEOD.fwd([lon] * 4, [lat] * 4, [90, 270, 0, 180], [radius] * 4)  # the circle's own extent
    assert max_lon - min_lon <= (lons[0] - lons[1]) * 1.02 and max_lat - min_lat <= (lats[2] - lats[3]) * 1.01


def _box_search(ids, lon, lat):
    """What a spatial index answers: the points in a box."""
    def search(box):
        inside = (lon >= box[0]) & (lon <= box[2]) & (lat >= box[1]) & (lat <= box[3])
        return ids[inside], lon[inside], lat[inside]
    return search


@pytest.mark.parametrize("reach", [50.0, 2000.0, 100_000.0])
def test_searching_by_boxes_finds_what_brute_force_finds(reach):
    rng = np.random.default_rng(5)
    lon, lat = rng.uniform(106.0, 106.5, 300), rng.uniform(38.2, 38.7, 300)
    ids = np.arange(1000, 1300)
    search = _box_search(ids, lon, lat)
    for origin_lon, origin_lat in zip(rng.uniform(105.9, 106.6, 30), rng.uniform(38.1, 38.8, 30)):
        brute = geodesic_distance(np.full(300, origin_lon), np.full(300, origin_lat), lon, lat)
        order = np.lexsort((ids, brute))
        found, metres = nearest_by_boxes(search, origin_lon, origin_lat, 5, 50_000, reach)
        assert found.tolist() == ids[order][:5].tolist() and metres == pytest.approx(brute[order][:5])
        found, metres = within_by_boxes(search, origin_lon, origin_lat, 4000)
        assert found.tolist() == [i for i in ids[order] if brute[i - 1000] <= 4000]
    nothing = _box_search(ids[:0], lon[:0], lat[:0])
    assert len(within_by_boxes(nothing, 106.3, 38.5, 1000)[0]) == 0
    assert len(nearest_by_boxes(nothing, 106.3, 38.5, 5, 50_000)[0]) == 0
