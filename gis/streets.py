"""The walkable street network: roads noded at every crossing, small gaps closed, components counted;
places attached at their nearest point on a street; walking distances and routes over it.

Pure geometry and graphs (shapely, numpy, scipy.sparse.csgraph): no Flask, no database. Lines come
in WGS84; a local plane (an equirectangular projection about the network's middle, metres) finds
crossings, gaps and nearest points, and lengths are geodesic metres on the WGS84 ellipsoid.

A place is attached to the edge nearest it: at `fraction` of the edge's length from its source node,
`access_m` from the place itself (the access segment, which counts in every walk).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

from gis.nearest import GEOD, geodesic_distance

GAP_TOLERANCE_M = 10.0  # a road that ends this close to another is taken to meet it (digitising slips)
_EARTH_M = 6_371_008.8  # mean radius: only for the local plane, never for a reported length
_SNAP_M = 0.001  # end points this close are one node


@dataclass(frozen=True)
class Plane:
    """An equirectangular plane about a latitude: metres east and north of (0°, 0°), scaled at lat0."""

    lat0: float

    def forward(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        scale = math.cos(math.radians(self.lat0)) * _EARTH_M
        return np.radians(np.asarray(lon, dtype=float)) * scale, np.radians(np.asarray(lat, dtype=float)) * _EARTH_M

    def inverse(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        scale = math.cos(math.radians(self.lat0)) * _EARTH_M
        return np.degrees(np.asarray(x, dtype=float) / scale), np.degrees(np.asarray(y, dtype=float) / _EARTH_M)

    def project(self, geometries) -> np.ndarray:
        return shapely.transform(np.asarray(geometries, dtype=object),
                                 lambda xy: np.column_stack(self.forward(xy[:, 0], xy[:, 1])))

    def unproject(self, geometries) -> np.ndarray:
        return shapely.transform(np.asarray(geometries, dtype=object),
                                 lambda xy: np.column_stack(self.inverse(xy[:, 0], xy[:, 1])))


def plane_for(bounds: tuple[float, float, float, float]) -> Plane:
    """The plane for a network within (min lon, min lat, max lon, max lat), fixed to 0.1° so that
    networks read back from a store get the very same plane."""
    return Plane(round((bounds[1] + bounds[3]) / 2, 1))


@dataclass(frozen=True)
class Gap:
    """Two streets that nearly met, joined: where (lon, lat, lon, lat) and how far apart, in metres."""

    road_id: int | None
    other_road_id: int | None
    where: tuple[float, float, float, float]
    metres: float


@dataclass
class Network:
    """Noded street edges: geometry (WGS84 LineStrings), source and target node, geodesic length,
    the road each came from (None for a closed gap), and the connected component it is in."""

    geoms: np.ndarray
    source: np.ndarray
    target: np.ndarray
    length_m: np.ndarray
    road_ids: list
    component: np.ndarray
    gaps: list[Gap] = field(default_factory=list)
    ids: np.ndarray | None = None  # each edge's id in a store, when read from one

    @classmethod
    def of_edges(cls, ids, geoms, source, target, length_m, road_ids, component) -> "Network":
        """A network read back from stored edges, its node numbers made dense from 0."""
        source, target = np.asarray(source, dtype=np.int64), np.asarray(target, dtype=np.int64)
        _, dense = np.unique(np.concatenate([source, target]), return_inverse=True)
        dense = dense.ravel()
        return cls(np.asarray(geoms, dtype=object), dense[:len(source)], dense[len(source):],
                   np.asarray(length_m, dtype=float), list(road_ids), np.asarray(component, dtype=np.int64),
                   ids=np.asarray(ids, dtype=np.int64))

    @property
    def node_count(self) -> int:
        return int(max(self.source.max(initial=-1), self.target.max(initial=-1)) + 1)

    @property
    def component_count(self) -> int:
        return len(np.unique(self.component))

    def __len__(self) -> int:
        return len(self.geoms)


def build_network(lines: Sequence, road_ids: Sequence, gap_m: float = GAP_TOLERANCE_M) -> Network:
    """The network of these (Multi)LineStrings in WGS84, each from the road of the same position.

    Lines are split at every crossing and shared vertex; an end of a line that stops within `gap_m`
    of another line (and does not touch one) is joined to its nearest point by a connector edge,
    each reported as a Gap. Pieces shorter than a millimetre are dropped.
    """
    parts, owners = shapely.get_parts(np.asarray(lines, dtype=object), return_index=True)
    owners = np.asarray(owners, dtype=np.int64)
    road_ids = list(road_ids)
    if not len(parts):
        return _empty()
    plane = plane_for(shapely.total_bounds(parts))
    flat = plane.project(parts)
    connectors, gaps = _close_gaps(flat, owners, road_ids, plane, gap_m)
    everything = np.concatenate([flat, np.asarray(connectors, dtype=object)])
    pieces = shapely.get_parts(shapely.node(shapely.MultiLineString(list(everything))))
    pieces = pieces[shapely.length(pieces) >= _SNAP_M]
    # The road of each piece: the input line nearest its middle (connectors, past the parts, have none).
    tree = shapely.STRtree(everything)
    middles = shapely.line_interpolate_point(pieces, 0.5, normalized=True)
    piece_idx, line_idx = tree.query_nearest(middles, all_matches=False)
    owner_of_piece = np.full(len(pieces), -1, dtype=np.int64)
    owner_of_piece[piece_idx] = line_idx
    piece_roads = [road_ids[owners[i]] if 0 <= i < len(parts) else None for i in owner_of_piece.tolist()]
    return _assemble(pieces, piece_roads, plane, gaps)


def _empty() -> Network:
    nothing = np.zeros(0, dtype=np.int64)
    return Network(np.zeros(0, dtype=object), nothing, nothing, np.zeros(0), [], nothing)


def _close_gaps(flat: np.ndarray, owners: np.ndarray, road_ids: list, plane: Plane,
                gap_m: float) -> tuple[list, list[Gap]]:
    """Connectors from each line end that stops short of another line by at most gap_m."""
    if gap_m <= 0 or len(flat) < 2:
        return [], []
    ends = np.concatenate([shapely.get_point(flat, 0), shapely.get_point(flat, -1)])
    end_owner = np.concatenate([np.arange(len(flat)), np.arange(len(flat))])
    tree = shapely.STRtree(flat)
    end_idx, line_idx = tree.query(ends, predicate="dwithin", distance=gap_m)
    touching = np.zeros(len(ends), dtype=bool)
    close = shapely.distance(ends[end_idx], flat[line_idx])
    others = line_idx != end_owner[end_idx]
    touching[end_idx[others & (close < _SNAP_M)]] = True
    connectors, gaps, seen = [], [], set()
    best: dict[int, tuple[float, int]] = {}
    for e, line, metres, other in zip(end_idx.tolist(), line_idx.tolist(), close.tolist(), others.tolist()):
        if other and not touching[e] and metres >= _SNAP_M and (e not in best or metres < best[e][0]):
            best[e] = (metres, line)
    for e, (_, line) in sorted(best.items()):
        start = ends[e]
        reached = shapely.line_interpolate_point(flat[line], shapely.line_locate_point(flat[line], start))
        key = (round(start.x, 2), round(start.y, 2), round(reached.x, 2), round(reached.y, 2))
        if key in seen:
            continue
        seen.add(key)
        connector = shapely.LineString([start, reached])
        connectors.append(connector)
        (lon1, lon2), (lat1, lat2) = plane.inverse([start.x, reached.x], [start.y, reached.y])
        gaps.append(Gap(road_ids[owners[end_owner[e]]], road_ids[owners[line]],
                        (float(lon1), float(lat1), float(lon2), float(lat2)),
                        float(geodesic_distance(lon1, lat1, lon2, lat2))))
    return connectors, gaps


def _assemble(pieces: np.ndarray, piece_roads: list, plane: Plane, gaps: list[Gap]) -> Network:
    starts, ends = shapely.get_point(pieces, 0), shapely.get_point(pieces, -1)
    xy = np.concatenate([shapely.get_coordinates(starts), shapely.get_coordinates(ends)])
    keys = np.round(xy / _SNAP_M).astype(np.int64)
    _, node = np.unique(keys, axis=0, return_inverse=True)
    node = node.ravel()
    source, target = node[:len(pieces)], node[len(pieces):]
    keep = source != target  # a piece that comes back to where it began takes nobody anywhere
    pieces, source, target = pieces[keep], source[keep], target[keep]
    piece_roads = [road for road, kept in zip(piece_roads, keep.tolist()) if kept]
    geoms = plane.unproject(pieces)
    length = geodesic_lengths(geoms)
    # Node ids dense from 0 in the order of the kept pieces, so equal inputs give equal networks.
    used, dense = np.unique(np.concatenate([source, target]), return_inverse=True)
    source, target = dense[:len(source)], dense[len(source):]
    count = len(used)
    graph = coo_matrix((np.ones(len(source)), (source, target)), shape=(count, count))
    _, labels = connected_components(graph, directed=False)
    return Network(geoms, source.astype(np.int64), target.astype(np.int64), length, piece_roads,
                   labels[source].astype(np.int64), gaps)


def geodesic_lengths(lines) -> np.ndarray:
    """Geodesic metres of each WGS84 LineString, all segments measured at once."""
    coordinates, index = shapely.get_coordinates(np.asarray(lines, dtype=object), return_index=True)
    if not len(coordinates):
        return np.zeros(len(lines))
    same = index[1:] == index[:-1]
    segment = geodesic_distance(coordinates[:-1, 0][same], coordinates[:-1, 1][same],
                                coordinates[1:, 0][same], coordinates[1:, 1][same])
    return np.bincount(index[:-1][same], weights=segment, minlength=len(lines))


@dataclass
class Attachment:
    """Places attached to a network: for each, the edge (index, -1 when there is none), the fraction of
    its length from its source node, the access segment's metres and the point reached on the street."""

    edge: np.ndarray
    fraction: np.ndarray
    access_m: np.ndarray
    lon: np.ndarray
    lat: np.ndarray

    def __len__(self) -> int:
        return len(self.edge)

    def take(self, positions) -> "Attachment":
        return Attachment(self.edge[positions], self.fraction[positions], self.access_m[positions],
                          self.lon[positions], self.lat[positions])


def attach(geoms: np.ndarray, lons, lats) -> Attachment:
    """Attach points (lon, lat) to the nearest of these edge geometries (WGS84 LineStrings)."""
    lons, lats = np.asarray(lons, dtype=float).ravel(), np.asarray(lats, dtype=float).ravel()
    n = len(lons)
    if not len(geoms) or not n:
        return Attachment(np.full(n, -1, dtype=np.int64), np.zeros(n), np.full(n, np.inf), lons.copy(), lats.copy())
    plane = plane_for(shapely.total_bounds(geoms))
    flat = plane.project(geoms)
    points = shapely.points(*plane.forward(lons, lats))
    point_idx, edge_idx = shapely.STRtree(flat).query_nearest(points, all_matches=False)
    edge = np.full(n, -1, dtype=np.int64)
    edge[point_idx] = edge_idx
    lines = flat[edge]
    fraction = np.clip(shapely.line_locate_point(lines, points, normalized=True), 0.0, 1.0)
    reached = shapely.line_interpolate_point(lines, fraction, normalized=True)
    lon, lat = plane.inverse(shapely.get_x(reached), shapely.get_y(reached))
    return Attachment(edge, fraction, geodesic_distance(lons, lats, lon, lat), lon, lat)


class WalkGraph:
    """The network as an undirected graph for scipy's Dijkstra, with places added as nodes of their own.

    scipy.sparse.csgraph runs Dijkstra in compiled code over a CSR matrix, from many sources at once and
    with a distance limit, which is what a city's links need (a few thousand service points, each
    searched out to the reach of its candidates); a parallel edge keeps its shortest length.
    """

    def __init__(self, network: Network):
        self.network = network
        self.nodes = network.node_count

    def _matrix(self, sources: Attachment):
        """The graph with a node for each source place, joined to both ends of its edge."""
        net = self.network
        extra = np.arange(self.nodes, self.nodes + len(sources))
        on = sources.edge >= 0
        edge = sources.edge[on]
        rows = np.concatenate([net.source, extra[on], extra[on]])
        cols = np.concatenate([net.target, net.source[edge], net.target[edge]])
        weights = np.concatenate([net.length_m, sources.fraction[on] * net.length_m[edge],
                                  (1 - sources.fraction[on]) * net.length_m[edge]])
        weights = np.maximum(weights, 1e-9)  # a zero would be read as no edge at all
        size = self.nodes + len(sources)
        # Shortest of parallel edges, both ways.
        a, b = np.minimum(rows, cols), np.maximum(rows, cols)
        order = np.lexsort((weights, b, a))
        a, b, weights = a[order], b[order], weights[order]
        first = np.ones(len(a), dtype=bool)
        first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
        a, b, weights = a[first], b[first], weights[first]
        return coo_matrix((np.concatenate([weights, weights]), (np.concatenate([a, b]), np.concatenate([b, a]))),
                          shape=(size, size)).tocsr()

    def costs(self, sources: Attachment, targets: Attachment, pairs: np.ndarray,
              limit: np.ndarray | None = None) -> np.ndarray:
        """Walking metres for each (source index, target index) pair, access segments included; inf where
        the network does not join them (or, with `limit` per source, where the walk would be longer)."""
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        result = np.full(len(pairs), np.inf)
        if not len(pairs) or not len(self.network):
            return result
        matrix = self._matrix(sources)
        net = self.network
        joined = (sources.edge[pairs[:, 0]] >= 0) & (targets.edge[pairs[:, 1]] >= 0)
        joined[joined] = net.component[sources.edge[pairs[joined, 0]]] == net.component[targets.edge[pairs[joined, 1]]]
        used = np.unique(pairs[joined, 0])  # a source with nobody in its component searches nothing
        batch = max(1, 2_000_000 // max(matrix.shape[0], 1))
        for start in range(0, len(used), batch):
            group = used[start:start + batch]
            group = group[sources.edge[group] >= 0]
            if not len(group):
                continue
            cap = np.inf if limit is None else float(np.max(limit[group]))
            distance = dijkstra(matrix, directed=False, indices=self.nodes + group, limit=cap)
            row_of = {s: i for i, s in enumerate(group.tolist())}
            mine = np.flatnonzero(np.isin(pairs[:, 0], group) & (targets.edge[pairs[:, 1]] >= 0))
            mine = mine[net.component[sources.edge[pairs[mine, 0]]] == net.component[targets.edge[pairs[mine, 1]]]]
            if not len(mine):
                continue
            s, t = pairs[mine, 0], pairs[mine, 1]
            rows = np.array([row_of[v] for v in s.tolist()], dtype=np.int64)
            edge, fraction = targets.edge[t], targets.fraction[t]
            length = net.length_m[edge]
            walk = np.minimum(distance[rows, net.source[edge]] + fraction * length,
                              distance[rows, net.target[edge]] + (1 - fraction) * length)
            same = sources.edge[s] == edge
            walk[same] = np.minimum(walk[same], np.abs(sources.fraction[s][same] - fraction[same]) * length[same])
            result[mine] = walk + sources.access_m[s] + targets.access_m[t]
        return result

    def route(self, source: Attachment, target: Attachment) -> "Route | None":
        """The shortest walk from the one place `source` to the one place `target`, or None."""
        if source.edge[0] < 0 or target.edge[0] < 0:
            return None
        net = self.network
        distance, previous = dijkstra(self._matrix(source), directed=False, indices=self.nodes,
                                      return_predecessors=True)
        edge, fraction = int(target.edge[0]), float(target.fraction[0])
        length = float(net.length_m[edge])
        ends = [(distance[net.source[edge]] + fraction * length, int(net.source[edge])),
                (distance[net.target[edge]] + (1 - fraction) * length, int(net.target[edge]))]
        best, last = min(ends)
        if int(source.edge[0]) == edge and abs(float(source.fraction[0]) - fraction) * length <= best:
            return route_along(net, source, target, [], [edge])
        if not np.isfinite(best):
            return None
        nodes = [last]
        while previous[nodes[-1]] >= 0 and previous[nodes[-1]] != self.nodes:
            nodes.append(int(previous[nodes[-1]]))
        nodes.reverse()
        lookup = _edge_lookup(net)
        middle = [lookup[(min(a, b), max(a, b))] for a, b in zip(nodes[:-1], nodes[1:])]
        return route_along(net, source, target, nodes, [int(source.edge[0])] + middle + [edge])


def route_along(net: Network, source: Attachment, target: Attachment, nodes: list[int], edges: list[int]) -> "Route":
    """The route from `source` to `target` through `nodes` (the network's, in order) by `edges`: the
    source's edge, one edge between each two nodes, the target's edge (one edge alone: along it)."""
    s_fraction, t_fraction = float(source.fraction[0]), float(target.fraction[0])
    if not nodes:
        edge = edges[0]
        legs = [(net.road_ids[edge], _sub_line(net.geoms[edge], s_fraction, t_fraction),
                 abs(s_fraction - t_fraction) * float(net.length_m[edge]))]
        return _route(legs, source, target)
    first, last = edges[0], edges[-1]
    leaving_by_source = nodes[0] == net.source[first]
    legs = [(net.road_ids[first], _sub_line(net.geoms[first], s_fraction, 0.0 if leaving_by_source else 1.0),
             (s_fraction if leaving_by_source else 1 - s_fraction) * float(net.length_m[first]))]
    for a, e in zip(nodes[:-1], edges[1:-1]):
        line = net.geoms[e] if net.source[e] == a else shapely.reverse(net.geoms[e])
        legs.append((net.road_ids[e], line, float(net.length_m[e])))
    arriving_by_source = nodes[-1] == net.source[last]
    legs.append((net.road_ids[last], _sub_line(net.geoms[last], 0.0 if arriving_by_source else 1.0, t_fraction),
                 (t_fraction if arriving_by_source else 1 - t_fraction) * float(net.length_m[last])))
    return _route(legs, source, target)


def _edge_lookup(net: Network) -> dict[tuple[int, int], int]:
    """The shortest edge between each pair of nodes."""
    lookup: dict[tuple[int, int], int] = {}
    for e in np.argsort(-net.length_m, kind="stable").tolist():  # shortest written last
        lookup[(min(net.source[e], net.target[e]), max(net.source[e], net.target[e]))] = e
    return lookup


def _sub_line(line, start: float, end: float):
    """The part of a line between two fractions of its length, in that direction."""
    if start > end:
        return shapely.reverse(_sub_line(line, end, start))
    coordinates = shapely.get_coordinates(line)
    cumulative = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(coordinates, axis=0).T))])
    total = cumulative[-1] or 1.0
    a, b = start * total, end * total
    inside = coordinates[(cumulative > a) & (cumulative < b)]
    first = shapely.get_coordinates(shapely.line_interpolate_point(line, a))
    last = shapely.get_coordinates(shapely.line_interpolate_point(line, b))
    return shapely.LineString(np.concatenate([first, inside, last]))


@dataclass
class Step:
    """One stretch of a route along one street: its road (None: a path or the access to a door), metres,
    the compass bearing it sets off on (degrees clockwise from north) and the turn onto it
    ('left', 'right', 'straight', or None for the first)."""

    road_id: int | None
    metres: float
    bearing: float
    turn: str | None


@dataclass
class Route:
    """A walk: its line (WGS84, door to door), metres and the steps along it."""

    line: shapely.LineString
    metres: float
    steps: list[Step]


def _route(legs, source: Attachment, target: Attachment) -> Route:
    legs = [(road, line, float(metres)) for road, line, metres in legs if metres > 0.01]
    access_in = float(source.access_m[0])
    access_out = float(target.access_m[0])
    coordinates = []
    for _, line, _ in legs:
        part = shapely.get_coordinates(line).tolist()
        coordinates.extend(part if not coordinates else part[1:])
    if len(coordinates) < 2:
        coordinates = [[float(source.lon[0]), float(source.lat[0])], [float(target.lon[0]), float(target.lat[0])]]
    line = shapely.LineString(coordinates)
    metres = access_in + sum(metres for _, _, metres in legs) + access_out
    return Route(line, metres, directions(legs, access_in, access_out))


def directions(legs, access_in: float = 0.0, access_out: float = 0.0) -> list[Step]:
    """Steps from legs [(road id, WGS84 line, metres)]: consecutive legs of one road are one step."""
    steps: list[Step] = []
    grouped: list[tuple] = []
    for road, line, metres in legs:
        if grouped and grouped[-1][0] == road:
            grouped[-1] = (road, grouped[-1][1] + [line], grouped[-1][2] + metres)
        else:
            grouped.append((road, [line], metres))
    previous = None
    for road, lines, metres in grouped:
        start = shapely.get_coordinates(lines[0])[0]
        end = shapely.get_coordinates(lines[-1])[-1]
        bearing = _bearing(start, end) if metres > 0 else 0.0
        steps.append(Step(road, metres, bearing, None if previous is None else _turn(previous, bearing)))
        previous = bearing
    if steps:
        steps[0].metres += access_in
        steps[-1].metres += access_out
    return steps


def _bearing(start, end) -> float:
    forward, _, _ = GEOD.inv(start[0], start[1], end[0], end[1])
    return float(forward) % 360


def _turn(before: float, after: float) -> str:
    change = (after - before + 540) % 360 - 180
    if abs(change) < 30:
        return "straight"
    return "right" if change > 0 else "left"


def heading(bearing: float) -> str:
    """The nearest of the eight compass points to a bearing: 'north', 'northeast', …"""
    names = ("north", "northeast", "east", "southeast", "south", "southwest", "west", "northwest")
    return names[int(((bearing % 360) + 22.5) // 45) % 8]
