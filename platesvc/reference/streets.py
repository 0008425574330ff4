"""The walkable street network as stored (street_edges), made from the roads, and walking over it:
pgRouting on PostGIS, scipy's Dijkstra in-process on SQLite (gis/streets.py), the same answers.

The network is made again from every road whenever roads change (a city's roads are thousands of
lines: a second or two); the buildings whose walks it can change are then linked again (links.py).
Nothing here commits.
"""

import logging
from dataclasses import dataclass

import numpy as np
import shapely
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from gis.nearest import bbox_around
from gis.streets import Attachment, Gap, Network, WalkGraph, build_network, route_along
from platesvc.store.bulk_writes import insert_rows
from platesvc.store.models import Road, StreetEdge
from platesvc.store.spatial import spatial_store

log = logging.getLogger(__name__)


@dataclass
class StreetsReport:
    """What a rebuild made: edges, the components they fall into, and the gaps it closed."""

    edges: int
    components: int
    gaps: list[Gap]
    changed: list  # the edges (WGS84 lines) the network lost or gained: walks near them may change


def rebuild_streets(session: Session) -> StreetsReport:
    """Make the street network again from every road the registry holds."""
    roads = session.execute(select(Road.id, Road.geom).order_by(Road.id)).all()
    network = build_network([geom for _, geom in roads], [road_id for road_id, _ in roads])
    before = np.asarray(session.scalars(select(StreetEdge.geom)).all(), dtype=object)
    session.execute(delete(StreetEdge))
    insert_rows(session, StreetEdge, [
        {"id": i + 1, "road_id": road_id, "source": int(source) + 1, "target": int(target) + 1,
         "length_m": float(length), "component": int(component) + 1, "geom": geom}
        for i, (road_id, source, target, length, component, geom) in enumerate(zip(
            network.road_ids, network.source, network.target, network.length_m, network.component,
            network.geoms))])
    session.flush()
    report = StreetsReport(len(network), network.component_count if len(network) else 0, network.gaps,
                           _differing(before, network.geoms))
    log.info("street network: %d edges in %d components, %d gaps closed", report.edges, report.components,
             len(report.gaps))
    return report


def _differing(before: np.ndarray, after: np.ndarray) -> list:
    """The lines in one list and not the other, compared to the 7th decimal (a centimetre)."""
    def keys(lines):
        return shapely.to_wkb(shapely.set_precision(lines, 1e-7)) if len(lines) else np.zeros(0, dtype=object)
    old, new = keys(before), keys(after)
    return list(before[~np.isin(old, new)]) + list(after[~np.isin(new, old)])


def stored_network(session: Session, bbox=None) -> Network:
    """The stored network, or the edges that meet a box (min lon, min lat, max lon, max lat)."""
    query = select(StreetEdge.id, StreetEdge.geom, StreetEdge.source, StreetEdge.target, StreetEdge.length_m,
                   StreetEdge.road_id, StreetEdge.component)
    if bbox is not None:
        query = spatial_store(session).within(query, StreetEdge, "geom", bbox)
    rows = session.execute(query.order_by(StreetEdge.id)).all()
    return Network.of_edges(*(list(column) for column in zip(*rows))) if rows else Network.of_edges(
        [], [], [], [], [], [], [])


def walk_engine(session: Session, network: Network, whole: bool = False):
    """What walks this store's network (`whole`: every stored edge): pgRouting in PostGIS, else scipy's Dijkstra."""
    if session.get_bind().dialect.name == "postgresql":
        return PgRoutingWalks(session, network, whole)
    return WalkGraph(network)


_EDGES_SQL = "SELECT id, source, target, length_m AS cost, length_m AS reverse_cost FROM street_edges"


def _values(rows, columns: str) -> str:
    """Rows as a SELECT pgRouting reads (its inner queries are text): numbers only, so nothing to escape."""
    listed = ",".join("(" + ",".join(repr(value) for value in row) + ")" for row in rows)
    return f"SELECT * FROM (VALUES {listed}) AS v({columns})"


class PgRoutingWalks:
    """Walking metres by pgRouting's pgr_withPointsCost, and routes by pgr_withPoints: places are points on
    edges at their fractions (the same attachments the in-process graph uses), so both backends walk the
    same network. Its inner queries carry their numbers as text, so it runs on a read-only replica too."""

    def __init__(self, session: Session, network: Network, whole: bool = False):
        self.session, self.network, self.whole = session, network, whole
        listed = ",".join(map(str, network.ids.tolist() if network.ids is not None else []))
        self.edges_sql = _EDGES_SQL if whole else f"{_EDGES_SQL} WHERE id = ANY('{{{listed}}}'::integer[])"

    def _staged(self, points: list[tuple], combinations: list[tuple]) -> tuple[str, str]:
        """Points and pairs copied into temporary tables of this transaction; the queries that read them."""
        connection = self.session.connection()
        for table, columns in (("walk_points", "pid integer, edge_id integer, fraction float8"),
                               ("walk_pairs", "source integer, target integer")):
            connection.exec_driver_sql(f"CREATE TEMPORARY TABLE IF NOT EXISTS {table} ({columns}) ON COMMIT DROP")
            connection.exec_driver_sql(f"TRUNCATE {table}")
        cursor_connection = connection.connection.driver_connection
        with cursor_connection.cursor() as cursor:
            with cursor.copy("COPY walk_points (pid, edge_id, fraction) FROM STDIN") as copy:
                for row in points:
                    copy.write_row(row)
            with cursor.copy("COPY walk_pairs (source, target) FROM STDIN") as copy:
                for row in combinations:
                    copy.write_row(row)
        return "SELECT pid, edge_id, fraction FROM walk_points", "SELECT source, target FROM walk_pairs"

    def costs(self, sources: Attachment, targets: Attachment, pairs, limit=None) -> np.ndarray:
        """As WalkGraph.costs: walking metres of each (source, target) pair, inf where they do not meet."""
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        result = np.full(len(pairs), np.inf)
        if not len(pairs):
            return result
        on = (sources.edge[pairs[:, 0]] >= 0) & (targets.edge[pairs[:, 1]] >= 0)
        component = self.network.component
        on[on] = component[sources.edge[pairs[on, 0]]] == component[targets.edge[pairs[on, 1]]]
        if not on.any():
            return result
        kept = pairs[on]
        # Point ids: sources from 1, targets past them; pgRouting names a point by its id negated.
        offset = int(len(sources)) + 1
        ids = self.network.ids
        points = ([(int(i) + 1, int(ids[sources.edge[i]]), float(sources.fraction[i])) for i in np.unique(kept[:, 0])]
                  + [(offset + int(j) + 1, int(ids[targets.edge[j]]), float(targets.fraction[j]))
                     for j in np.unique(kept[:, 1])])
        combinations = [(-(int(s) + 1), -(offset + int(t) + 1)) for s, t in np.unique(kept, axis=0)]
        if self.whole:  # links at write time, on the primary: tens of thousands of points go faster by COPY
            points_sql, pairs_sql = self._staged(points, combinations)
        else:  # a request's few, on a replica too
            points_sql, pairs_sql = _values(points, "pid, edge_id, fraction"), _values(combinations, "source, target")
        found = self.session.connection().execute(text(
            "SELECT start_pid, end_pid, agg_cost FROM pgr_withPointsCost(:edges, :points, :pairs, directed => false)"),
            {"edges": self.edges_sql, "points": points_sql, "pairs": pairs_sql}).all()
        costs = {(-start - 1, -end - offset - 1): cost for start, end, cost in found}
        net = self.network
        for position in np.flatnonzero(on).tolist():
            s, t = int(pairs[position, 0]), int(pairs[position, 1])
            walk = costs.get((s, t), np.inf)
            if sources.edge[s] == targets.edge[t]:  # pgRouting leaves out a pair it finds at no distance
                walk = min(walk, abs(sources.fraction[s] - targets.fraction[t]) * net.length_m[sources.edge[s]])
            result[position] = walk + sources.access_m[s] + targets.access_m[t]
        return result

    def route(self, source: Attachment, target: Attachment):
        """As WalkGraph.route, by pgr_withPoints over the edges this network holds."""
        if source.edge[0] < 0 or target.edge[0] < 0:
            return None
        ids = self.network.ids
        position = {int(edge_id): i for i, edge_id in enumerate(ids.tolist())}
        points = [(1, int(ids[source.edge[0]]), float(source.fraction[0])),
                  (2, int(ids[target.edge[0]]), float(target.fraction[0]))]
        rows = self.session.connection().execute(text(
            "SELECT node, edge FROM pgr_withPoints(:edges, :points, -1, -2, directed => false) ORDER BY seq"),
            {"edges": self.edges_sql, "points": _values(points, "pid, edge_id, fraction")}).all()
        net = self.network
        if source.edge[0] == target.edge[0]:
            direct = abs(float(source.fraction[0]) - float(target.fraction[0])) * float(net.length_m[source.edge[0]])
            if not rows or direct <= 1e-9 or len(rows) <= 2:
                return route_along(net, source, target, [], [int(source.edge[0])])
        if not rows:
            return None
        edges = [position[int(edge)] for _, edge in rows if edge > 0]
        nodes = [_node_of(net, edges, i) for i in range(len(edges) - 1)]
        return route_along(net, source, target, nodes, edges)


def _node_of(net: Network, edges: list[int], i: int) -> int:
    """The node edges[i] and edges[i + 1] share."""
    a = {int(net.source[edges[i]]), int(net.target[edges[i]])}
    b = {int(net.source[edges[i + 1]]), int(net.target[edges[i + 1]])}
    shared = a & b
    return min(shared) if shared else int(net.target[edges[i]])


def route_box(lon1: float, lat1: float, lon2: float, lat2: float, reach_m: float):
    """A box holding every path of at most reach_m from (lon1, lat1), and (lon2, lat2)."""
    a = bbox_around(lon1, lat1, reach_m)
    return (min(a[0], lon2), min(a[1], lat2), max(a[2], lon2), max(a[3], lat2))


def points_of(geometries) -> tuple[np.ndarray, np.ndarray]:
    """Longitudes and latitudes of point geometries."""
    array = np.asarray(geometries, dtype=object)
    return shapely.get_x(array), shapely.get_y(array)
