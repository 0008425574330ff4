"""k nearest targets for many origins, with geodesic distances in metres.

Candidates are ranked in a local equal-distance projection (vectorised, in chunks),
then the best few are measured on the WGS84 ellipsoid and re-ranked, so the answer
is the geodesic k nearest even where the projection would break a near-tie wrongly.
"""

import numpy as np
from pyproj import CRS, Geod, Transformer

GEOD = Geod(ellps="WGS84")
_EXTRA_CANDIDATES = 4
_CHUNK = 4096


def geodesic_distance(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Ellipsoidal distance in metres, element-wise."""
    _, _, distance = GEOD.inv(np.asarray(lon1, dtype=float), np.asarray(lat1, dtype=float),
                              np.asarray(lon2, dtype=float), np.asarray(lat2, dtype=float))
    return np.asarray(distance)


def bbox_around(lon: float, lat: float, radius_m: float) -> tuple[float, float, float, float]:
    """(min lon, min lat, max lon, max lat) of a box reaching radius_m east, west, north and south."""
    lons, lats, _ = GEOD.fwd([lon] * 4, [lat] * 4, [90, 270, 0, 180], [radius_m] * 4)
    return (lons[1], lats[3], lons[0], lats[2])


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
    indices = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k))
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        planar = np.hypot(ox[start:stop, None] - tx[None, :], oy[start:stop, None] - ty[None, :])
        candidates = np.argpartition(planar, shortlist - 1, axis=1)[:, :shortlist]
        geodesic = geodesic_distance(
            np.repeat(origins[start:stop, 0], shortlist), np.repeat(origins[start:stop, 1], shortlist),
            targets[candidates.ravel(), 0], targets[candidates.ravel(), 1],
        ).reshape(stop - start, shortlist)
        order = np.argsort(geodesic, axis=1, kind="stable")[:, :k]
        indices[start:stop] = np.take_along_axis(candidates, order, axis=1)
        distances[start:stop] = np.take_along_axis(geodesic, order, axis=1)
    return indices, distances
