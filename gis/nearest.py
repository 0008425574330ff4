"""Nearest points with geodesic distances in metres: k nearest targets for many origins at once
(precomputing links), and the nearest to one place from a spatial index that answers boxes
(a nearby search).

For many origins, candidates are ranked in a local equal-distance projection (an STRtree
of the targets, vectorised, in chunks), then the best few are measured on the WGS84
ellipsoid and re-ranked, so the answer is the geodesic k nearest even where the
projection would break a near-tie wrongly. For one place, the index gives the points in a box that holds every point
within reach, and only those are measured.
"""

import math
from collections.abc import Callable

import numpy as np
import shapely
from pyproj import CRS, Geod, Transformer

GEOD = Geod(ellps="WGS84")
# The least radii of curvature of the WGS84 ellipsoid: along a meridian, b²/a (at the
# equator); across it, a. No geodesic of length r turns latitude by more than r over the
# first, nor longitude by more than r over the second times cos(latitude).
_LEAST_MERIDIAN_RADIUS = GEOD.b ** 2 / GEOD.a
_LEAST_PRIME_VERTICAL_RADIUS = GEOD.a
_EXTRA_CANDIDATES = 4
_CHUNK = 50_000  # origins asked of the tree at a time


def geodesic_distance(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Ellipsoidal distance in metres, element-wise."""
    _, _, distance = GEOD.inv(np.asarray(lon1, dtype=float), np.asarray(lat1, dtype=float),
                              np.asarray(lon2, dtype=float), np.asarray(lat2, dtype=float))
    return np.asarray(distance)


def bbox_around(lon: float, lat: float, radius_m: float) -> tuple[float, float, float, float]:
    """(min lon, min lat, max lon, max lat) of a box holding every point within radius_m (geodesic).

    Closed-form and a little larger than the circle (by well under 1% in China); near a
    pole it spans every longitude. It does not wrap across the antimeridian.
    """
    reach_lat = math.degrees(radius_m / _LEAST_MERIDIAN_RADIUS)
    farthest_lat = abs(lat) + reach_lat
    if farthest_lat >= 90:
        return -180.0, max(lat - reach_lat, -90.0), 180.0, min(lat + reach_lat, 90.0)
    reach_lon = math.degrees(radius_m / (_LEAST_PRIME_VERTICAL_RADIUS * math.cos(math.radians(farthest_lat))))
    return (max(lon - reach_lon, -180.0), max(lat - reach_lat, -90.0), min(lon + reach_lon, 180.0),
            min(lat + reach_lat, 90.0))


def _local_projection(lon: np.ndarray, lat: np.ndarray) -> Transformer:
    centre_lon, centre_lat = float(np.mean(lon)), float(np.mean(lat))
    crs = CRS.from_proj4(f"+proj=aeqd +lat_0={centre_lat} +lon_0={centre_lon} +datum=WGS84 +units=m")
    return Transformer.from_crs("EPSG:4326", crs, always_xy=True)


def k_nearest(origins: np.ndarray, targets: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """For (n, 2) lon/lat origins and (m, 2) targets: (n, k') target indices and metres, nearest first.

    k' = min(k, m); with no targets both arrays have zero columns.
    """
    origins = np.asarray(origins, dtype=float).reshape(-1, 2)
    targets = np.asarray(targets, dtype=float).reshape(-1, 2)
    n, m = len(origins), len(targets)
    k = min(k, m)
    if n == 0 or k == 0:
        return np.zeros((n, k), dtype=np.int64), np.zeros((n, k))
    project = _local_projection(np.concatenate([origins[:, 0], targets[:, 0]]),
                                np.concatenate([origins[:, 1], targets[:, 1]]))
    ox, oy = project.transform(origins[:, 0], origins[:, 1])
    tx, ty = project.transform(targets[:, 0], targets[:, 1])
    shortlist = min(m, k + _EXTRA_CANDIDATES)
    candidates = _planar_shortlists(ox, oy, tx, ty, shortlist)
    geodesic = geodesic_distance(np.repeat(origins[:, 0], shortlist), np.repeat(origins[:, 1], shortlist),
                                 targets[candidates.ravel(), 0], targets[candidates.ravel(), 1]
                                 ).reshape(n, shortlist)
    order = np.argsort(geodesic, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(candidates, order, axis=1), np.take_along_axis(geodesic, order, axis=1)


def _planar_shortlists(ox, oy, tx, ty, shortlist: int) -> np.ndarray:
    """For each origin, the `shortlist` targets nearest on the plane (indices, nearest first).

    An STRtree of the targets gives each origin those within a radius of its own (a few
    times its distance to the nearest target); origins with too few are asked again
    with a radius half as large again, so every list is exact and the work grows with
    the origins, not with origins times targets.
    """
    n = len(ox)
    tree = shapely.STRtree(shapely.points(tx, ty))
    # At this radius every target is within reach of every origin.
    whole = math.hypot(max(ox.max(), tx.max()) - min(ox.min(), tx.min()),
                       max(oy.max(), ty.max()) - min(oy.min(), ty.min())) + 1.0
    result = np.empty((n, shortlist), dtype=np.int64)
    for start in range(0, n, _CHUNK):
        part = np.arange(start, min(n, start + _CHUNK))
        points = shapely.points(ox[part], oy[part])
        (_, _), nearest = tree.query_nearest(points, return_distance=True, all_matches=False)
        # Evenly spread, some ten targets lie within 3.5 times the distance to the nearest.
        radius = np.minimum(np.maximum(nearest * 3.5, 1.0), whole)
        while len(part):
            origin, target = tree.query(points, predicate="dwithin", distance=radius)
            planar = np.hypot(ox[part][origin] - tx[target], oy[part][origin] - ty[target])
            target = target[np.lexsort((planar, origin))]  # by origin, then nearest first
            counts = np.bincount(origin, minlength=len(part))
            first = np.cumsum(counts) - counts
            full = counts >= shortlist
            result[part[full]] = target[first[full, None] + np.arange(shortlist)]
            part, points, radius = part[~full], points[~full], np.minimum(radius[~full] * 1.5, whole)
    return result


BoxSearch = Callable[[tuple[float, float, float, float]], tuple[np.ndarray, np.ndarray, np.ndarray]]
"""Ids, longitudes and latitudes of the points in a (min lon, min lat, max lon, max lat) box."""

START_REACH_M = 2000.0  # where a city's service points are some hundreds of metres apart


def nearest_by_boxes(search: BoxSearch, lon: float, lat: float, k: int, max_radius_m: float,
                     reach_m: float = START_REACH_M) -> tuple[np.ndarray, np.ndarray]:
    """The k points nearest (lon, lat) within max_radius_m, nearest first (ties by id), with metres.

    `search` answers boxes (from a spatial index). The box starts at `reach_m` and grows
    fourfold until it holds k; the k + 4 nearest of those on a local plane are measured
    on the ellipsoid. The answer stands once the k-th lies within the box's reach, so no
    nearer point can lie outside it; otherwise the reach grows to that distance once more.
    """
    if k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    reach = min(reach_m, max_radius_m)
    while True:
        ids, lons, lats = (np.asarray(values) for values in search(bbox_around(lon, lat, reach)))
        if len(ids) < k and reach < max_radius_m:
            reach = min(reach * 4, max_radius_m)
            continue
        shortlist = _planar_order(lon, lat, lons, lats)[:k + _EXTRA_CANDIDATES]
        found, metres = _ranked(lon, lat, ids[shortlist], lons[shortlist], lats[shortlist], k)
        if not len(metres) or metres[-1] <= reach or reach >= max_radius_m:
            keep = metres <= max_radius_m
            return found[keep], metres[keep]
        reach = min(float(metres[-1]), max_radius_m)


def within_by_boxes(search: BoxSearch, lon: float, lat: float, radius_m: float,
                    limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Ids and metres of the points within radius_m, nearest first (ties by id), at most `limit`."""
    ids, lons, lats = (np.asarray(values) for values in search(bbox_around(lon, lat, radius_m)))
    found, metres = _ranked(lon, lat, ids, lons, lats, None)
    inside = metres <= radius_m
    return found[inside][:limit], metres[inside][:limit]


def _ranked(lon: float, lat: float, ids: np.ndarray, lons: np.ndarray, lats: np.ndarray,
            limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    ids = np.asarray(ids, dtype=np.int64)
    if not len(ids):
        return ids, np.zeros(0)
    metres = geodesic_distance(np.full(len(ids), lon), np.full(len(ids), lat), lons, lats)
    order = np.lexsort((ids, metres))[:limit]
    return ids[order], metres[order]


def _planar_order(lon: float, lat: float, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """Indices nearest first on the plane tangent at (lon, lat): a ranking, not a distance to report."""
    east = (lons - lon) * math.cos(math.radians(lat))
    return np.argsort(east * east + (lats - lat) ** 2, kind="stable")
