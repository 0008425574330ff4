"""Service points near a place, nearest first, with geodesic distances, from the store's index.

The index answers boxes (gis.nearest): with a radius, the box that holds the circle;
without, boxes that grow until the `limit` nearest within MAX_RADIUS_M surely lie
inside. Only the points in those boxes are read and measured.
"""

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from sqlalchemy import Float, Integer, bindparam, select
from sqlalchemy.engine import Engine

from gis.nearest import START_REACH_M, geodesic_distance, nearest_by_boxes, within_by_boxes
from platesvc.reference.snapshot import SERVICE_COLUMNS, ServiceRow, service_row
from platesvc.store.models import ServicePoint
from platesvc.store.prepared import PreparedRead
from platesvc.store.spatial import bound_box, box_values, spatial_store

MAX_RADIUS_M = 50_000.0


@dataclass(frozen=True)
class Nearby:
    service: ServiceRow
    distance_m: float


def nearby_services(engine: Engine, lon: float, lat: float, limit: int, radius_m: float | None = None,
                    category: str | None = None) -> list[Nearby]:
    """Service points nearest first: all within radius_m (at most `limit`), or the `limit` nearest.

    Without a radius, where the store can list points nearest first (PostGIS's KNN), the
    first boxes are answered from a short list of those: its k-th nearest gives the reach,
    and a box the list's circle covers needs no query of its own. Elsewhere the boxes grow
    from START_REACH_M.
    """
    store = spatial_store(engine)
    in_box = _in_box(store, category is not None)
    read: dict[int, ServiceRow] = {}

    def remember(rows) -> tuple[list[int], np.ndarray, np.ndarray]:
        lons, lats = store.lonlat(rows)
        for row, x, y in zip(rows, lons.tolist(), lats.tolist(), strict=True):
            read[row[0]] = service_row(row, x, y)
        return [row[0] for row in rows], lons, lats

    def search(box):
        return remember(in_box.all(engine, category=category, **box_values(box)))

    if radius_m is not None:
        ids, metres = within_by_boxes(search, lon, lat, radius_m, limit)
    else:
        reach, first = START_REACH_M, _nearest_first(store, category is not None)
        if first is not None:
            listed = first.all(engine, category=category, lon=lon, lat=lat, count=limit * NEAREST_FIRST)
            search, reach = _answered_from(remember(listed), len(listed) < limit * NEAREST_FIRST, search, lon, lat,
                                           limit)
        ids, metres = nearest_by_boxes(search, lon, lat, limit, MAX_RADIUS_M, reach)
    return [Nearby(read[service_id], distance) for service_id, distance in zip(ids.tolist(), metres.tolist())]


NEAREST_FIRST = 4  # points listed nearest first, for each one asked for


def _answered_from(listed, everything: bool, search, lon: float, lat: float, limit: int):
    """A box search that answers boxes the listed points' circle covers from them, and the reach to start at."""
    ids, lons, lats = (np.asarray(values) for values in listed)
    if not len(ids):
        return search, MAX_RADIUS_M if everything else START_REACH_M
    metres = np.sort(geodesic_distance(np.full(len(ids), lon), np.full(len(ids), lat), lons, lats))
    reach = max(float(metres[min(limit, len(metres)) - 1]), 1.0)
    # The list holds every point within this many degrees of the place (on the plane KNN measures).
    covered = math.inf if everything else float(np.max(np.hypot(lons - lon, lats - lat)))

    def from_the_list(box):
        min_x, min_y, max_x, max_y = box
        if max(math.hypot(x - lon, y - lat) for x in (min_x, max_x) for y in (min_y, max_y)) > covered:
            return search(box)
        inside = (lons >= min_x) & (lons <= max_x) & (lats >= min_y) & (lats <= max_y)
        return ids[inside], lons[inside], lats[inside]

    return from_the_list, reach


@lru_cache(maxsize=4)
def _nearest_first(store, of_a_category: bool) -> PreparedRead | None:
    """The `count` service points (of the category bound as `category`) nearest lon, lat on the
    plane, where the store can list them so; else None."""
    query = select(*SERVICE_COLUMNS, *store.coordinates(ServicePoint.geom))
    if of_a_category:
        query = query.where(ServicePoint.category == bindparam("category"))
    ordered = store.nearest_first(query, ServicePoint, "geom", bindparam("lon", type_=Float),
                                  bindparam("lat", type_=Float))
    return None if ordered is None else PreparedRead(ordered.limit(bindparam("count", type_=Integer)))


@lru_cache(maxsize=4)
def _in_box(store, of_a_category: bool) -> PreparedRead:
    """The service points (of the category bound as `category`) whose point is in the box min_x…max_y."""
    query = select(*SERVICE_COLUMNS, *store.coordinates(ServicePoint.geom))
    if of_a_category:
        query = query.where(ServicePoint.category == bindparam("category"))
    return PreparedRead(store.within(query, ServicePoint, "geom", bound_box(), exact=False))
