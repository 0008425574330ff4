"""A walking route between two places, over the stored street network near them: its line, length,
time at an older person's pace, and the turns in words ("沿上海路向东 300 米，右转进入解放西街…").

Only the streets in a box that holds every walk up to the length sought are read (the index answers
the box), so a route costs the same in a city of any size; a route longer than the box could hold is
sought again in a larger one, up to MAX_ROUTE_M. pgRouting finds it on PostGIS, scipy on SQLite.
"""

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import shapely
from sqlalchemy.orm import Session

from gis.nearest import bbox_around, geodesic_distance
from gis.streets import Step, attach, heading
from platesvc.errors import DataError
from platesvc.messages import Message
from platesvc.reference.streets import route_box, stored_network, walk_engine

MAX_ROUTE_M = 20_000.0  # beyond this on foot the answer is no longer a walk
FIRST_REACH_M = 600.0

HEADINGS = {
    "north": Message("towards the north"), "northeast": Message("towards the northeast"),
    "east": Message("towards the east"), "southeast": Message("towards the southeast"),
    "south": Message("towards the south"), "southwest": Message("towards the southwest"),
    "west": Message("towards the west"), "northwest": Message("towards the northwest"),
}
TURNS = {"left": Message("Turn left"), "right": Message("Turn right"), "straight": Message("Go straight on")}
A_PATH = Message("the path")


class OffNetworkError(DataError):
    """A point farther from every street than a walk is given from (422)."""


def off_network(end: str, metres: float, limit: float) -> OffNetworkError:
    """The refusal of a place (given as the parameter `end`) `metres` from the nearest street."""
    return OffNetworkError("The place given as %(end)s is %(metres)s m from the nearest street; a walking route is "
                           "given only within %(limit)s m of one.", end=end,
                           metres="∞" if not np.isfinite(metres) else int(metres), limit=int(limit))


@dataclass
class WalkingRoute:
    """A walk from one place to another: its line (WGS84), metres on foot and in a straight line, whether
    the streets join the two (if not, the line is the straight one), and its steps in words."""

    line: shapely.LineString
    walk_m: float
    distance_m: float
    on_network: bool
    steps: list[Message]

    def minutes(self, speed_kmh: float) -> int:
        return max(1, round(self.walk_m / (speed_kmh * 1000 / 60)))

    def feature(self, speed_kmh: float) -> dict:
        """The route as a GeoJSON Feature with a LineString (RFC 7946: 7 decimals)."""
        coordinates = np.round(shapely.get_coordinates(self.line), 7).tolist()
        return {"type": "Feature", "geometry": {"type": "LineString", "coordinates": coordinates},
                "properties": {"walk_m": round(self.walk_m, 1), "walk_minutes": self.minutes(speed_kmh),
                               "distance_m": round(self.distance_m, 1), "on_network": self.on_network,
                               "speed_kmh": speed_kmh, "steps": [str(step) for step in self.steps]}}


def walking_route(session: Session, start: tuple[float, float], end: tuple[float, float],
                  road_names: Mapping[int, str], end_name: str | None = None,
                  max_access_m: tuple[float, float] = (float("inf"), float("inf")),
                  reach_m: float | None = None) -> WalkingRoute:
    """The shortest walk from `start` to `end` (lon, lat), its streets named by `road_names` (road id → name).

    `reach_m` is a walk's length known beforehand (a building's link), else a guess from the straight line.

    :raises OffNetworkError: the start or end lies farther from every street than its `max_access_m`.
    """
    straight = float(geodesic_distance(start[0], start[1], end[0], end[1]))
    reach = min(MAX_ROUTE_M, max(reach_m * 1.05 + 50 if reach_m else 3 * straight + FIRST_REACH_M, FIRST_REACH_M))
    while True:
        network = stored_network(session, route_box(*start, *end, reach))
        source = attach(network.geoms, [start[0]], [start[1]])
        target = attach(network.geoms, [end[0]], [end[1]])
        for name, place, limit in (("from", source, max_access_m[0]), ("to", target, max_access_m[1])):
            if place.access_m[0] > limit:
                raise off_network(name, place.access_m[0], limit)
        found = walk_engine(session, network).route(source, target) if len(network) else None
        if found is not None and found.metres <= reach:  # no walk that long leaves the box: it is the shortest
            return WalkingRoute(found.line if found.line.length else shapely.LineString([start, end]),
                                found.metres, straight, True, describe(found.steps, road_names, end_name))
        if reach >= MAX_ROUTE_M:
            return WalkingRoute(shapely.LineString([start, end]), straight, straight, False,
                                [Message("No walk along the streets joins these two places: this is the straight "
                                         "line, %(metres)s m.", metres=_rounded(straight))])
        reach = min(MAX_ROUTE_M, max(reach * 3, found.metres if found else 0))


def describe(steps: list[Step], road_names: Mapping[int, str], end_name: str | None) -> list[Message]:
    """The steps in words: along the first street, then each turn onto the next, then the arrival."""
    said = []
    for step in steps:
        road = road_names.get(step.road_id) if step.road_id is not None else None
        road = road or A_PATH
        if step.turn is None:
            said.append(Message("Along %(road)s %(heading)s, %(metres)s m", road=road,
                                heading=HEADINGS[heading(step.bearing)], metres=_rounded(step.metres)))
        else:
            said.append(Message("%(turn)s onto %(road)s, %(metres)s m", turn=TURNS[step.turn], road=road,
                                metres=_rounded(step.metres)))
    if end_name:
        said.append(Message("Arrive at %(place)s", place=end_name))
    return said


def _rounded(metres: float) -> int:
    """Metres as a walker reads them: to 5 m under 100, to 10 m above."""
    return int(max(5, round(metres / 5) * 5)) if metres < 100 else int(round(metres / 10) * 10)


class RoadNames(Mapping):
    """Road id → name, over the snapshot's road id → (name, pinyin)."""

    def __init__(self, roads: Mapping[int, tuple[str, str]]):
        self._roads = roads

    def __getitem__(self, road_id: int) -> str:
        return self._roads[road_id][0]

    def __iter__(self):
        return iter(self._roads)

    def __len__(self) -> int:
        return len(self._roads)


def route_with_streets(session: Session, start, end, road_names: Mapping[int, str], end_name: str | None = None,
                       reach_m: float | None = None, around_m: float = 80.0) -> tuple[WalkingRoute, list]:
    """The route, and the streets within `around_m` of its box to draw it over."""
    route = walking_route(session, start, end, road_names, end_name, reach_m=reach_m)
    west, south, east, north = route.line.bounds
    box = bbox_around(west, south, around_m)[:2] + bbox_around(east, north, around_m)[2:]
    return route, list(stored_network(session, box).geoms)


def route_picture(route: WalkingRoute, streets: list, width: int = 320, height: int = 240, margin: int = 14) -> dict:
    """What the page draws: the nearby streets and the route as SVG path data in a width × height box
    (north up, equal scale both ways), and where the start and the end are."""
    coordinates = shapely.get_coordinates(route.line)
    lat0 = float(np.mean(coordinates[:, 1]))
    scale_x = np.cos(np.radians(lat0))
    west, south = coordinates[:, 0].min(), coordinates[:, 1].min()
    span_x = max((coordinates[:, 0].max() - west) * scale_x, 1e-6)
    span_y = max(coordinates[:, 1].max() - south, 1e-6)
    scale = min((width - 2 * margin) / span_x, (height - 2 * margin) / span_y)
    offset_x = (width - span_x * scale) / 2
    offset_y = (height - span_y * scale) / 2

    def to_svg(xy: np.ndarray) -> np.ndarray:
        return np.column_stack([offset_x + (xy[:, 0] - west) * scale_x * scale,
                                height - (offset_y + (xy[:, 1] - south) * scale)])

    def path(line) -> str:
        points = to_svg(shapely.get_coordinates(line))
        return "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in points)

    start, end = to_svg(coordinates[[0, -1]])
    return {"width": width, "height": height, "streets": [path(line) for line in streets], "route": path(route.line),
            "start": (round(float(start[0]), 1), round(float(start[1]), 1)),
            "end": (round(float(end[0]), 1), round(float(end[1]), 1))}
