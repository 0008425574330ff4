"""Service points near a place, nearest first, with geodesic distances, from the store's index.

The index answers boxes (gis.nearest): with a radius, the box that holds the circle;
without, boxes that grow until the `limit` nearest within MAX_RADIUS_M surely lie
inside. Only the points in those boxes are read and measured.
"""

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Engine

from gis.nearest import nearest_by_boxes, within_by_boxes
from platesvc.models import ServicePoint
from platesvc.prepared import PreparedRead
from platesvc.reference_data import SERVICE_COLUMNS, ServiceRow, service_row
from platesvc.spatial_store import bound_box, box_values, spatial_store

MAX_RADIUS_M = 50_000.0


@dataclass(frozen=True)
class Nearby:
    service: ServiceRow
    distance_m: float


def nearby_services(engine: Engine, lon: float, lat: float, limit: int, radius_m: float | None = None,
                    category: str | None = None) -> list[Nearby]:
    """Service points nearest first: all within radius_m (at most `limit`), or the `limit` nearest."""
    store = spatial_store(engine)
    in_box = _in_box(store, category is not None)
    read: dict[int, ServiceRow] = {}

    def search(box):
        rows = in_box.all(engine, category=category, **box_values(box))
        lons, lats = store.lonlat(rows)
        for row, x, y in zip(rows, lons.tolist(), lats.tolist(), strict=True):
            read[row[0]] = service_row(row, x, y)
        return [row[0] for row in rows], lons, lats

    if radius_m is not None:
        ids, metres = within_by_boxes(search, lon, lat, radius_m, limit)
    else:
        ids, metres = nearest_by_boxes(search, lon, lat, limit, MAX_RADIUS_M)
    return [Nearby(read[service_id], distance) for service_id, distance in zip(ids.tolist(), metres.tolist())]


@lru_cache(maxsize=4)
def _in_box(store, of_a_category: bool) -> PreparedRead:
    """The service points (of the category bound as `category`) whose point is in the box min_x…max_y."""
    query = select(*SERVICE_COLUMNS, *store.coordinates(ServicePoint.geom))
    if of_a_category:
        query = query.where(ServicePoint.category == bindparam("category"))
    return PreparedRead(store.within(query, ServicePoint, "geom", bound_box(), exact=False))
