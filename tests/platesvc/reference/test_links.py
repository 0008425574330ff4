"""Precomputed links agree with brute force, and follow every change to what they point at."""

import networkx as nx
import numpy as np
import pytest
import shapely
import shapely.affinity
from pyproj import Transformer
from sqlalchemy import select

from gis.nearest import geodesic_distance
from gis.streets import attach
from gis.synthetic import TOWNS, WORK_CRS, load_districts, river_banks
from platesvc.errors import DataError
from platesvc.reference import edits, links, streets
from platesvc.registry import audit
from platesvc.store.database import db
from platesvc.store.models import (
    AuditEvent,
    Building,
    BuildingLink,
    BuildingNearest,
    BuildingZone,
    CultureZone,
    PoliceBeat,
    ServicePoint,
)

SAMPLE = 60


def _snapshot():
    return (
        sorted(db.session.execute(select(BuildingLink.building_id, BuildingLink.beat_id)).all()),
        sorted(db.session.execute(select(BuildingZone.building_id, BuildingZone.zone_id)).all()),
        sorted(db.session.execute(select(BuildingNearest.building_id, BuildingNearest.category,
                                         BuildingNearest.rank, BuildingNearest.service_point_id)).all()),
    )


def _assert_same_as_full_recompute():
    incremental = _snapshot()
    links.refresh_links(db.session)
    assert _snapshot() == incremental


def _sample_buildings(seed=0):
    buildings = db.session.scalars(select(Building).order_by(Building.id)).all()
    rng = np.random.default_rng(seed)
    return [buildings[i] for i in rng.choice(len(buildings), SAMPLE, replace=False)]


def test_beat_and_zones_are_the_polygons_that_contain_the_building(seeded_app):
    beats = db.session.execute(select(PoliceBeat.id, PoliceBeat.geom)).all()
    zones = db.session.execute(select(CultureZone.id, CultureZone.geom)).all()
    for building in _sample_buildings():
        link = db.session.get(BuildingLink, building.id)
        assert link.beat_id == next(i for i, geom in beats if geom.covers(building.point))
        listed = set(db.session.scalars(select(BuildingZone.zone_id).where(BuildingZone.building_id == building.id)))
        assert listed == {i for i, geom in zones if geom.covers(building.point)}


def _reference_walks(network, building, services):
    """networkx's Dijkstra over the stored network from a building to each service: (walk or None, straight)."""
    graph = nx.Graph()
    for s, t, length in zip(network.source.tolist(), network.target.tolist(), network.length_m.tolist()):
        if not graph.has_edge(s, t) or graph[s][t]["weight"] > length:
            graph.add_edge(s, t, weight=length)
    door = attach(network.geoms, [building.point.x], [building.point.y])
    places = attach(network.geoms, [g.x for _, g in services], [g.y for _, g in services])
    edge, fraction = int(door.edge[0]), float(door.fraction[0])
    graph.add_edge("door", int(network.source[edge]), weight=fraction * network.length_m[edge])
    graph.add_edge("door", int(network.target[edge]), weight=(1 - fraction) * network.length_m[edge])
    reached = nx.single_source_dijkstra_path_length(graph, "door")
    straight = geodesic_distance(np.full(len(services), building.point.x), np.full(len(services), building.point.y),
                                 [g.x for _, g in services], [g.y for _, g in services])
    walks = []
    for j in range(len(services)):
        e, f = int(places.edge[j]), float(places.fraction[j])
        length = network.length_m[e]
        best = min(reached.get(int(network.source[e]), np.inf) + f * length,
                   reached.get(int(network.target[e]), np.inf) + (1 - f) * length)
        if e == edge:
            best = min(best, abs(f - fraction) * length)
        walks.append(best + door.access_m[0] + places.access_m[j] if np.isfinite(best) else None)
    return walks, straight


def test_walking_links_agree_with_networkx_over_the_same_network(seeded_app):
    """For a sample of buildings, each category's k nearest by walking are networkx's, within 1 m; a service
    the streets do not join is listed by its straight line after those they do, and marked; the straight
    line is never longer than the walk."""
    network = streets.stored_network(db.session)
    assert len(network) > 100 and network.component_count >= 1
    services = db.session.execute(select(ServicePoint.id, ServicePoint.category, ServicePoint.geom)
                                  .order_by(ServicePoint.id)).all()
    longer_than_the_air = 0
    for building in _sample_buildings(seed=1)[:25]:
        for category in sorted({c for _, c, _ in services}):
            candidates = [(i, g) for i, c, g in services if c == category]
            walks, straight = _reference_walks(network, building, candidates)
            keys = [(walk is None, straight[j] if walk is None else walk, straight[j], candidates[j][0])
                    for j, walk in enumerate(walks)]
            expected = sorted(range(len(candidates)), key=keys.__getitem__)[:links.K_NEAREST]
            listed = db.session.execute(
                select(BuildingNearest.service_point_id, BuildingNearest.distance_m, BuildingNearest.walk_m,
                       BuildingNearest.on_network)
                .where(BuildingNearest.building_id == building.id, BuildingNearest.category == category)
                .order_by(BuildingNearest.rank)).all()
            assert [row.service_point_id for row in listed] == [candidates[j][0] for j in expected]
            for row, j in zip(listed, expected):
                assert bool(row.on_network) == (walks[j] is not None)
                assert row.walk_m == pytest.approx(straight[j] if walks[j] is None else walks[j], abs=1.0)
                assert row.distance_m == pytest.approx(straight[j], abs=0.01)
                assert row.distance_m <= row.walk_m + 1e-6
                longer_than_the_air += row.walk_m > row.distance_m * 1.2
    assert longer_than_the_air  # the streets are not the air


def test_a_new_service_point_reaches_exactly_the_buildings_it_is_nearer_to(seeded_app):
    building = _sample_buildings()[0]
    service = ServicePoint(source_id="NEW-1", category="elderly_care", name="新开养老服务站",
                           geom=shapely.Point(building.point.x + 0.0001, building.point.y))
    db.session.add(service)
    db.session.flush()
    refreshed = links.refresh_after_service_change(db.session, service)
    first = db.session.get(BuildingNearest, (building.id, "elderly_care", 1))
    assert first.service_point_id == service.id and first.distance_m < 15
    assert 0 < refreshed < db.session.query(Building).count()
    _assert_same_as_full_recompute()


def test_moving_and_removing_a_service_point(seeded_app):
    service = db.session.scalars(select(ServicePoint).where(ServicePoint.category == "meal_point")).first()
    service.geom = shapely.Point(service.geom.x + 0.01, service.geom.y - 0.01)
    db.session.flush()
    links.refresh_after_service_change(db.session, service)
    _assert_same_as_full_recompute()
    links.remove_service_point(db.session, service)
    assert not db.session.scalars(
        select(BuildingNearest).where(BuildingNearest.service_point_id == service.id)).first()
    _assert_same_as_full_recompute()


def test_a_changed_beat_relinks_the_buildings_in_its_old_and_new_area(seeded_app):
    beat = db.session.scalars(select(PoliceBeat).order_by(PoliceBeat.id)).first()
    old = beat.geom
    beat.geom = shapely.MultiPolygon([shapely.box(*old.bounds).buffer(0.002, join_style="mitre")])
    db.session.flush()
    assert links.refresh_after_area_change(db.session, old, beat.geom) > 0
    _assert_same_as_full_recompute()
    db.session.delete(beat)
    db.session.flush()
    links.refresh_after_area_change(db.session, beat.geom)
    _assert_same_as_full_recompute()


def test_zones_and_beats_staff_add_move_and_remove_relink_exactly_the_buildings_inside(seeded_app):
    """Through the staff's edits (the pages and OGC API Part 4): each change is audited, and the links
    it leaves are what a full recompute gives."""
    actor = audit.Actor("tester")
    building = _sample_buildings()[0]
    area = shapely.MultiPolygon([shapely.box(building.point.x - 0.001, building.point.y - 0.001,
                                             building.point.x + 0.001, building.point.y + 0.001)])
    zone = edits.add_zone(db.session, actor, "zone-x", edits.ZoneFields("新街区", "一段地名故事。", area))
    assert zone.id in db.session.get(BuildingLink, building.id).zones
    assert edits.zone_note(db.session, zone).title == "新街区"
    beat = edits.add_beat(db.session, actor, "beat-x", edits.BeatFields("新警务区", "新派出所", "李警官", "110", area))
    assert [officer.name for officer in beat.officers] == ["李警官"]
    _assert_same_as_full_recompute()

    moved = shapely.MultiPolygon([shapely.affinity.translate(area.geoms[0], 0.01, 0.01)])
    assert edits.edit_zone(db.session, actor, zone, edits.ZoneFields("新街区", "改写的故事。", moved)) > 0
    assert zone.id not in (db.session.get(BuildingLink, building.id).zones or [])
    assert edits.edit_beat(db.session, actor, beat, edits.BeatFields("新警务区", "新派出所", None, None, moved)) > 0
    assert beat.officers == []
    _assert_same_as_full_recompute()

    edits.remove_zone(db.session, actor, zone, None)
    edits.remove_beat(db.session, actor, beat, "merged into its neighbour")
    _assert_same_as_full_recompute()
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.actor == "tester")
                                 .order_by(AuditEvent.id)).all()
    assert actions == ["zone.added", "officer.added", "beat.added", "note.edited", "zone.edited",
                       "officer.removed", "beat.edited", "zone.removed", "beat.removed"]

    with pytest.raises(DataError, match="already a police beat"):
        edits.add_beat(db.session, actor, db.session.scalar(select(PoliceBeat.source_id)),
                       edits.BeatFields("x", "x", None, None, area))
    with pytest.raises(DataError, match="outside every district"):
        edits.add_zone(db.session, actor, "zone-far", edits.ZoneFields("x", "x", shapely.MultiPolygon(
            [shapely.box(116.3, 39.9, 116.4, 40.0)])))


def test_a_service_across_the_river_ranks_by_the_walk_not_the_air(seeded_app):
    """The demo city's river through 金凤区's seat has a bridge on one east-west road in four: a care point put
    just across the water from a house on the west bank is nearest by air, yet listed after those nearer on foot."""
    seat = load_districts().set_index("code")["seat"].to_crs(WORK_CRS).loc["640106"]
    west, east = river_banks(seat, TOWNS["640106"].block_m)
    to_work = Transformer.from_crs("EPSG:4326", WORK_CRS, always_xy=True)
    to_wgs84 = Transformer.from_crs(WORK_CRS, "EPSG:4326", always_xy=True)
    on_the_bank = []
    for building_id, point in db.session.execute(select(Building.id, Building.point)
                                                 .where(Building.division_code == "640106").order_by(Building.id)):
        x, y = to_work.transform(point.x, point.y)
        if west - 150 < x < west:
            on_the_bank.append((building_id, x, y))
    assert on_the_bank
    outranked = 0
    for building_id, x, y in on_the_bank:
        service = ServicePoint(source_id=f"ACROSS-{building_id}", category="elderly_care", name="对岸养老服务站",
                               geom=shapely.Point(*to_wgs84.transform(east + (west - x), y)))
        db.session.add(service)
        db.session.flush()
        links.refresh_after_service_change(db.session, service)
        listed = db.session.execute(select(BuildingNearest.service_point_id, BuildingNearest.distance_m,
                                           BuildingNearest.walk_m)
                                    .where(BuildingNearest.building_id == building_id,
                                           BuildingNearest.category == "elderly_care")
                                    .order_by(BuildingNearest.rank)).all()
        assert [row.walk_m for row in listed] == sorted(row.walk_m for row in listed)
        across = [row for row in listed if row.service_point_id == service.id]
        if across and across[0] is not listed[0] and across[0].distance_m < listed[0].distance_m:
            assert across[0].walk_m > 5 * across[0].distance_m  # round by the bridge
            outranked += 1
        links.remove_service_point(db.session, service)
    assert outranked
    _assert_same_as_full_recompute()
