"""Walking for map clients: a route between two places, and the services nearest a place on foot.

Both read only the streets near the places (the index answers a box), never the whole network, so
a request costs the same in a city of any size. A place given by coordinates must lie within
WALK_MAX_ACCESS_M of a street (422 otherwise); a plate's door or a service point is always walked
from its nearest street, however far.
"""

from dataclasses import dataclass

import numpy as np
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from gis.streets import attach
from platesvc.maps.nearby import Nearby, nearby_services
from platesvc.reference.streets import route_box, stored_network, walk_engine
from platesvc.scan.walking import MAX_ROUTE_M, WalkingRoute, off_network, walking_route

MOST_CANDIDATES = 200  # services walked to for one nearby answer, at most


@dataclass(frozen=True)
class NearbyOnFoot:
    service: object  # the ServiceRow
    distance_m: float
    walk_m: float
    on_network: bool


def route_between(engine: Engine, start: tuple[float, float], end: tuple[float, float], road_names,
                  end_name: str | None, max_access_m: tuple[float, float],
                  reach_m: float | None = None) -> WalkingRoute:
    """The walking route from start to end (lon, lat).

    :raises OffNetworkError: an end given by coordinates lies farther than max_access_m from every street.
    """
    with Session(engine) as session:
        return walking_route(session, start, end, road_names, end_name, max_access_m, reach_m)


def nearby_on_foot(engine: Engine, lon: float, lat: float, limit: int, radius_m: float | None,
                   category: str | None, max_access_m: float) -> list[NearbyOnFoot]:
    """The `limit` service points nearest (lon, lat) on foot (within `radius_m` in a straight line, if given).

    Candidates come nearest by air; they are walked over the streets in a box that holds every walk of up
    to three times the farthest one's straight line and 600 m more (a walk longer than that is taken as
    none, and the service listed by its straight line after those walked, marked). More are taken while the
    limit-th walk is longer than the straight line to the farthest candidate, as a nearer walk may lie
    beyond it, up to MOST_CANDIDATES.

    :raises OffNetworkError: the place lies farther than max_access_m from every street.
    """
    wanted = min(MOST_CANDIDATES, limit + 5)
    with Session(engine) as session:
        while True:
            found = nearby_services(engine, lon, lat, wanted, radius_m, category)
            if not found:
                _check_on_network(session, lon, lat, max_access_m)
                return []
            ranked = _walked(session, lon, lat, found, max_access_m)[:limit]
            farthest = found[-1].distance_m
            enough = (len(found) < wanted or wanted >= MOST_CANDIDATES
                      or (len(ranked) == limit and all(item.on_network for item in ranked)
                          and ranked[-1].walk_m <= farthest))
            if enough:
                return ranked
            wanted = min(MOST_CANDIDATES, wanted * 2)


def _reach(farthest_m: float) -> float:
    return min(MAX_ROUTE_M, 3 * farthest_m + 600)


def _check_on_network(session: Session, lon: float, lat: float, max_access_m: float) -> None:
    network = stored_network(session, route_box(lon, lat, lon, lat, max_access_m))
    place = attach(network.geoms, [lon], [lat])
    if place.access_m[0] > max_access_m:
        raise off_network("lon,lat", place.access_m[0], max_access_m)


def _walked(session: Session, lon: float, lat: float, found: list[Nearby], max_access_m: float) -> list[NearbyOnFoot]:
    reach = _reach(max(item.distance_m for item in found))
    network = stored_network(session, route_box(lon, lat, lon, lat, reach))
    place = attach(network.geoms, [lon], [lat])
    if place.access_m[0] > max_access_m:
        raise off_network("lon,lat", place.access_m[0], max_access_m)
    services = attach(network.geoms, [item.service.lon for item in found], [item.service.lat for item in found])
    pairs = np.column_stack([np.zeros(len(found), dtype=np.int64), np.arange(len(found))])
    walks = walk_engine(session, network).costs(place, services, pairs) if len(network) else np.full(len(found), np.inf)
    walked = []
    for item, walk in zip(found, walks.tolist()):
        on = bool(np.isfinite(walk) and walk <= reach)
        walked.append(NearbyOnFoot(item.service, item.distance_m, walk if on else item.distance_m, on))
    return sorted(walked, key=lambda item: (not item.on_network, item.walk_m, item.distance_m, item.service.id))
