"""Service points near a place, nearest first, with geodesic distances, through the spatial index.

With a radius: every point within it. Without: the `limit` nearest, found by searching a
box that grows until it holds that many and reaches past the farthest of them (so no
nearer point can lie outside it), up to MAX_RADIUS_M. Either way only the index's
candidates are measured; nothing scans the table.
"""

from dataclasses import dataclass

import numpy as np
import shapely
from sqlalchemy.engine import Engine

from gis.nearest import bbox_around, geodesic_distance
from platesvc.spatial_store import services_in_bbox

MAX_RADIUS_M = 50_000.0
FIRST_SEARCH_M = 2_000.0  # in the urban core a box this size often holds the five nearest already
# bbox_around reaches the radius due east and west at the centre's latitude; the circle
# bulges a hair wider towards the pole, so the box is searched slightly larger.
_BOX_MARGIN = 1.01


@dataclass(frozen=True)
class Nearby:
    service_id: int
    distance_m: float


def nearby_services(engine: Engine, lon: float, lat: float, limit: int, category: str | None = None,
                    radius_m: float | None = None) -> list[Nearby]:
    """Service points nearest first: all within radius_m (at most `limit`), or the `limit` nearest."""
    if radius_m is not None:
        return _within(engine, lon, lat, radius_m, category, limit)
    reach = FIRST_SEARCH_M
    while True:
        found = _within(engine, lon, lat, reach, category, limit)
        if len(found) >= limit or reach >= MAX_RADIUS_M:
            return found
        reach = min(reach * 4, MAX_RADIUS_M)


def _within(engine: Engine, lon: float, lat: float, radius_m: float, category: str | None,
            limit: int) -> list[Nearby]:
    """The `limit` nearest within `radius_m`, nearest first."""
    ids, points = services_in_bbox(engine, bbox_around(lon, lat, radius_m * _BOX_MARGIN), category)
    if not len(ids):
        return []
    distance = geodesic_distance(np.full(len(ids), lon), np.full(len(ids), lat), shapely.get_x(points),
                                 shapely.get_y(points))
    order = np.lexsort((ids, distance))[:limit]  # by distance, ties by id
    return [Nearby(int(ids[i]), float(distance[i])) for i in order if distance[i] <= radius_m]
