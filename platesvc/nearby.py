"""Service points near a place, nearest first, with geodesic distances, from the store's index.

The index answers boxes (gis.nearest): with a radius, the box that holds the circle;
without, boxes that grow until the `limit` nearest within MAX_RADIUS_M surely lie
inside. Only the points in those boxes are read and measured.
"""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from gis.nearest import nearest_by_boxes, within_by_boxes
from platesvc.models import ServicePoint
from platesvc.reference_data import SERVICE_COLUMNS, ServiceRow, service_row
from platesvc.spatial_store import spatial_store

MAX_RADIUS_M = 50_000.0


@dataclass(frozen=True)
class Nearby:
    service: ServiceRow
    distance_m: float


def nearby_services(connection: Connection, lon: float, lat: float, limit: int, radius_m: float | None = None,
                    category: str | None = None) -> list[Nearby]:
    """Service points nearest first: all within radius_m (at most `limit`), or the `limit` nearest."""
    store = spatial_store(connection)
    query = select(*SERVICE_COLUMNS, *store.coordinates(ServicePoint.geom))
    if category is not None:
        query = query.where(ServicePoint.category == category)
    read: dict[int, ServiceRow] = {}

    def search(box):
        rows = connection.execute(store.within(query, ServicePoint, "geom", box, exact=False)).all()
        lons, lats = store.lonlat(rows)
        for row, x, y in zip(rows, lons.tolist(), lats.tolist(), strict=True):
            read[row[0]] = service_row(row, x, y)
        return [row[0] for row in rows], lons, lats

    if radius_m is not None:
        ids, metres = within_by_boxes(search, lon, lat, radius_m, limit)
    else:
        ids, metres = nearest_by_boxes(search, lon, lat, limit, MAX_RADIUS_M)
    return [Nearby(read[service_id], distance) for service_id, distance in zip(ids.tolist(), metres.tolist())]
