"""The street network on hand-made streets with known answers: a river with one bridge, a dead end,
two components, a gap closed, and Dijkstra against networkx's."""

import math

import networkx as nx
import numpy as np
import pytest
import shapely

from gis.streets import WalkGraph, attach, build_network, heading

LON0, LAT0 = 106.25, 38.47
M_LAT = 1 / 111_195.0
M_LON = M_LAT / math.cos(math.radians(LAT0))


def at(x: float, y: float) -> tuple[float, float]:
    """A lon/lat x metres east and y metres north of the origin."""
    return LON0 + x * M_LON, LAT0 + y * M_LAT


def line(*points) -> shapely.LineString:
    return shapely.LineString([at(x, y) for x, y in points])


def walks(network, origins, destinations):
    sources, targets = attach(network.geoms, *zip(*[at(*p) for p in origins])), \
        attach(network.geoms, *zip(*[at(*p) for p in destinations]))
    pairs = np.array([(i, j) for i in range(len(origins)) for j in range(len(destinations))])
    return WalkGraph(network).costs(sources, targets, pairs).reshape(len(origins), len(destinations))


def test_crossing_roads_are_split_where_they_cross():
    network = build_network([line((0, 0), (200, 0)), line((100, -100), (100, 100))], [1, 2])
    assert len(network) == 4 and network.node_count == 5 and network.component_count == 1
    assert sorted(network.road_ids) == [1, 1, 2, 2]
    assert network.length_m == pytest.approx([100] * 4, rel=5e-3)


def test_a_river_with_one_bridge_makes_the_walk_go_round():
    # Two banks 100 m apart joined by one bridge at x = 1000; both places stand by x = 0.
    banks = [line((0, 0), (1000, 0)), line((0, 100), (1000, 100)), line((1000, 0), (1000, 100))]
    network = build_network(banks, [1, 2, 3])
    [[metres]] = walks(network, [(0, -10)], [(0, 110)])
    assert metres == pytest.approx(10 + 1000 + 100 + 1000 + 10, rel=3e-3)  # not the 120 m across the water


def test_a_dead_end_is_walked_in_and_out():
    network = build_network([line((0, 0), (300, 0)), line((150, 0), (150, 80))], [1, 2])
    [[metres]] = walks(network, [(150, 90)], [(0, -5)])
    assert metres == pytest.approx(10 + 80 + 150 + 5, rel=3e-3)


def test_two_components_do_not_reach_each_other():
    network = build_network([line((0, 0), (100, 0)), line((0, 500), (100, 500))], [1, 2])
    assert network.component_count == 2
    [[metres]] = walks(network, [(50, -5)], [(50, 505)])
    assert math.isinf(metres)


def test_a_road_stopping_short_of_another_is_joined_and_reported():
    network = build_network([line((0, 0), (200, 0)), line((100, 4), (100, 100))], [1, 2], gap_m=10)
    assert network.component_count == 1 and len(network.gaps) == 1
    gap = network.gaps[0]
    assert (gap.road_id, gap.other_road_id) == (2, 1) and gap.metres == pytest.approx(4, rel=1e-2)
    assert None in network.road_ids  # the connector, a street of no road
    far = build_network([line((0, 0), (200, 0)), line((100, 40), (100, 100))], [1, 2], gap_m=10)
    assert far.component_count == 2 and not far.gaps


def test_places_on_one_edge_walk_straight_along_it():
    network = build_network([line((0, 0), (500, 0))], [1])
    [[metres]] = walks(network, [(100, 10)], [(300, -20)])
    assert metres == pytest.approx(10 + 200 + 20, rel=3e-3)


def test_costs_equal_networkx_dijkstra_on_a_grid():
    rng = np.random.default_rng(3)
    lines = [line((0, y), (900, y)) for y in range(0, 901, 150)] + \
            [line((x, 0), (x, 900)) for x in range(0, 901, 150) if x != 450]
    network = build_network(lines, list(range(len(lines))))
    graph = nx.Graph()
    for s, t, length in zip(network.source, network.target, network.length_m):
        if not graph.has_edge(s, t) or graph[s][t]["weight"] > length:
            graph.add_edge(int(s), int(t), weight=float(length))
    origins = [tuple(p) for p in rng.uniform(0, 900, size=(8, 2))]
    destinations = [tuple(p) for p in rng.uniform(0, 900, size=(5, 2))]
    ours = walks(network, origins, destinations)
    a = attach(network.geoms, *zip(*[at(*p) for p in origins]))
    b = attach(network.geoms, *zip(*[at(*p) for p in destinations]))
    for i in range(len(origins)):
        for j in range(len(destinations)):
            ea, eb = a.edge[i], b.edge[j]
            ends_a = [(network.source[ea], a.fraction[i] * network.length_m[ea]),
                      (network.target[ea], (1 - a.fraction[i]) * network.length_m[ea])]
            ends_b = [(network.source[eb], b.fraction[j] * network.length_m[eb]),
                      (network.target[eb], (1 - b.fraction[j]) * network.length_m[eb])]
            best = min(da + nx.dijkstra_path_length(graph, int(u), int(v)) + db
                       for u, da in ends_a for v, db in ends_b)
            if ea == eb:
                best = min(best, abs(a.fraction[i] - b.fraction[j]) * network.length_m[ea])
            assert ours[i, j] == pytest.approx(best + a.access_m[i] + b.access_m[j], abs=0.01)


def test_a_route_turns_and_names_its_streets():
    network = build_network([line((0, 0), (300, 0)), line((300, 0), (300, -200))], [7, 8])
    graph = WalkGraph(network)
    source = attach(network.geoms, *at(50, 5))
    target = attach(network.geoms, *at(305, -150))
    route = graph.route(source, target)
    assert route.metres == pytest.approx(5 + 250 + 150 + 5, rel=3e-3)
    assert [(step.road_id, step.turn, heading(step.bearing)) for step in route.steps] == [
        (7, None, "east"), (8, "right", "south")]
    assert route.line.length > 0
