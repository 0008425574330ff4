"""Service points near a place, nearest first, with geodesic distances.

Each worker's reference snapshot holds the service points in an in-process spatial index
(gis.nearest.PointIndex, points sorted by longitude), one for every category and one for
all, read again from the store when the reference data changes; the same on both
backends. With a radius: every point within it. Without: the `limit` nearest within
MAX_RADIUS_M. Only points the index finds in a box holding the circle are measured (for
the nearest, only the best few of those).
"""

from dataclasses import dataclass

from gis.nearest import PointIndex

MAX_RADIUS_M = 50_000.0


@dataclass(frozen=True)
class Nearby:
    service_id: int
    distance_m: float


def nearby_services(index: PointIndex, lon: float, lat: float, limit: int,
                    radius_m: float | None = None) -> list[Nearby]:
    """Service points nearest first: all within radius_m (at most `limit`), or the `limit` nearest."""
    if radius_m is not None:
        ids, metres = index.within(lon, lat, radius_m, limit)
    else:
        ids, metres = index.nearest(lon, lat, limit, MAX_RADIUS_M)
    return [Nearby(service_id, distance) for service_id, distance in zip(ids.tolist(), metres.tolist())]
