import numpy as np
import pytest

from gis.nearest import bbox_around, geodesic_distance, k_nearest


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


def test_bbox_around_reaches_the_radius_each_way():
    min_lon, min_lat, max_lon, max_lat = bbox_around(106.28, 38.47, 1000)
    for lon, lat in ((min_lon, 38.47), (max_lon, 38.47), (106.28, min_lat), (106.28, max_lat)):
        assert geodesic_distance([106.28], [38.47], [lon], [lat])[0] == pytest.approx(1000, abs=0.01)
