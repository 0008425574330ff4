"""Links precomputed at write time, so a scan only reads: for each active building, the
police beat that contains it, the culture zones that contain it, and its k nearest
service points of each category by walking distance along the streets (streets.py), with
the straight-line (geodesic) distance beside it.

Walking is never shorter than the straight line, so the k nearest by walking lie among the
nearest by air: a building's candidates are its straight-line nearest, walked, and more are
taken only while its k-th walk is longer than the straight line to its farthest candidate. A
service the network does not join to the building (another component) is listed by its
straight line, marked as such, after every one it can walk to.

refresh_links recomputes them for given buildings; the functions below it find exactly
the buildings a change can affect and recompute those. Nothing here commits.
"""

from collections.abc import Collection, Iterator
from datetime import UTC, datetime

import numpy as np
import shapely
from sqlalchemy import and_, case, delete, func, literal, select, update
from sqlalchemy.orm import Session, aliased

from gis.joins import PolygonIndex
from gis.nearest import bbox_around, geodesic_distance, k_nearest
from gis.streets import Network, attach, plane_for
from platesvc.reference.streets import stored_network, walk_engine
from platesvc.store.bulk_writes import chunks, indexes_built_after, insert_plain_tuples, insert_rows
from platesvc.store.models import (
    Building,
    BuildingLink,
    BuildingNearest,
    BuildingStatus,
    BuildingZone,
    CultureZone,
    PoliceBeat,
    ServiceCategory,
    ServicePoint,
)
from platesvc.store.spatial import active_buildings_covered_by, spatial_store

K_NEAREST = 3
EXTRA_CANDIDATES = 5  # walked beyond the k nearest by air, at first
LINK_CHUNK_ROWS = 50_000
_NEAREST_COLUMNS = ["building_id", "category", "rank", "service_point_id", "distance_m", "walk_m", "on_network"]


def _active_building_chunks(session: Session, building_ids: Collection[int] | None
                            ) -> Iterator[tuple[list[int], np.ndarray]]:
    """(ids, points) of the given active buildings (all when None), LINK_CHUNK_ROWS at a time."""
    query = select(Building.id, Building.point).where(Building.status == BuildingStatus.ACTIVE)
    if building_ids is None:
        last = 0
        while rows := session.execute(query.where(Building.id > last).order_by(Building.id)
                                      .limit(LINK_CHUNK_ROWS)).all():
            last = rows[-1][0]
            yield [row[0] for row in rows], np.array([row[1] for row in rows], dtype=object)
        return
    ordered = sorted(building_ids)
    for start in range(0, len(ordered), LINK_CHUNK_ROWS):
        rows = [row for chunk in chunks(ordered[start:start + LINK_CHUNK_ROWS])
                for row in session.execute(query.where(Building.id.in_(chunk))).all()]
        if rows:
            yield [row[0] for row in rows], np.array([row[1] for row in rows], dtype=object)


class _Sources:
    """What links are computed from, read once for every chunk of buildings."""

    def __init__(self, session: Session, containment: bool, categories: list[str], walking: bool = True):
        self.beats = self.zones = None
        if containment:
            beats = session.execute(select(PoliceBeat.id, PoliceBeat.geom).order_by(PoliceBeat.id)).all()
            self.beat_ids = np.array([beat_id for beat_id, _ in beats], dtype=np.int64)
            self.beats = PolygonIndex([geom for _, geom in beats])
            zones = session.execute(select(CultureZone.id, CultureZone.geom)).all()
            self.zone_ids = np.array([zone_id for zone_id, _ in zones], dtype=np.int64)
            self.zones = PolygonIndex([geom for _, geom in zones])
        self.services, self.places = {}, {}
        # Without walking (bench/links.py's baseline) no street is known: every list is by the straight line.
        self.network = stored_network(session) if categories and walking else Network.of_edges(*[[]] * 7)
        self.walks = walk_engine(session, self.network, whole=walking) if categories else None
        for category in categories:
            services = session.execute(select(ServicePoint.id, ServicePoint.geom)
                                       .where(ServicePoint.category == category).order_by(ServicePoint.id)).all()
            where = np.array([[geom.x, geom.y] for _, geom in services]).reshape(-1, 2)
            self.services[category] = (np.array([service_id for service_id, _ in services], dtype=np.int64), where)
            self.places[category] = attach(self.network.geoms, where[:, 0], where[:, 1])


def _delete_rows(session: Session, model, ids: list[int] | None, where=None) -> None:
    """Delete the rows of the given buildings (None: of every building)."""
    condition = [] if where is None else [where]
    if ids is None:
        session.execute(delete(model).where(*condition))
    else:
        for chunk in chunks(ids):
            session.execute(delete(model).where(model.building_id.in_(chunk), *condition))


def refresh_links(session: Session, building_ids: Collection[int] | None = None,
                  categories: Collection[str] | None = None, containment: bool = True, walking: bool = True) -> int:
    """Recompute links of the given active buildings (all when None); returns how many.

    `categories` limits the nearest-service refresh; `containment=False` skips beats and zones.
    Buildings are read and linked a chunk at a time, so a city of millions needs no more
    memory than one chunk; each chunk's links row, with the copy of its nearest services and
    zones that a scan reads, is written once.
    """
    categories = list(categories) if categories is not None else [c.value for c in ServiceCategory]
    sources = _Sources(session, containment, categories, walking)
    if building_ids is None:  # whole tables at once, filled again with their indexes built at the end
        _clear(session, None, containment, categories)
        rebuilt = ((["building_links", "building_zones"] if containment else [])
                   + (["building_nearest"] if len(categories) == len(ServiceCategory) else []))
        with indexes_built_after(session, rebuilt):
            return _link_chunks(session, None, containment, categories, sources)
    return _link_chunks(session, building_ids, containment, categories, sources)


def _link_chunks(session: Session, building_ids: Collection[int] | None, containment: bool,
                 categories: list[str], sources: "_Sources") -> int:
    kept = [c.value for c in ServiceCategory if c.value not in categories]  # their rows stay as stored
    count = 0
    for ids, points in _active_building_chunks(session, building_ids):
        if building_ids is not None:
            _clear(session, ids, containment, categories)
        nearest = _stored_nearest(session, ids, kept)
        doors = attach(sources.network.geoms, shapely.get_x(points), shapely.get_y(points)) if categories else None
        for category in categories:
            _link_nearest(session, ids, points, doors, category, sources, nearest)
        if containment:
            zones = _link_zones(session, ids, points, sources)
            _link_beats(session, ids, points, sources, nearest, zones)
        else:
            session.execute(update(BuildingLink), [{"building_id": building_id, "nearest": nearest.get(building_id)}
                                                   for building_id in ids])
        count += len(ids)
    return count


def _clear(session: Session, ids: list[int] | None, containment: bool, categories: list[str]) -> None:
    if containment:
        _delete_rows(session, BuildingLink, ids)
        _delete_rows(session, BuildingZone, ids)
    for category in categories:
        _delete_rows(session, BuildingNearest, ids, where=BuildingNearest.category == category)


# Each building's nearest services as its links row holds them, nearest walk first:
# {category: [[service id, straight metres, walking metres, on the network], …]}.
Nearest = dict[str, list[list]]


def _add_nearest(entries: dict[int, Nearest], building_id: int, category: str, service_id: int,
                 metres: float, walk_m: float, on_network: bool) -> None:
    """Add a service to a building's list of its category; callers add each list nearest first."""
    entries.setdefault(building_id, {}).setdefault(category, []).append([service_id, metres, walk_m, on_network])


def _stored_nearest(session: Session, ids: list[int], categories: list[str]) -> dict[int, Nearest]:
    """The stored nearest services of these categories for each of the buildings."""
    entries: dict[int, Nearest] = {}
    if not categories:
        return entries
    for chunk in chunks(ids):
        for building_id, category, _, service_id, metres, walk_m, on_network in session.execute(
                select(*(getattr(BuildingNearest, column) for column in _NEAREST_COLUMNS))
                .where(BuildingNearest.building_id.in_(chunk), BuildingNearest.category.in_(categories))
                .order_by(BuildingNearest.building_id, BuildingNearest.category, BuildingNearest.rank)):
            _add_nearest(entries, building_id, category, service_id, metres,
                         metres if walk_m is None else walk_m, bool(on_network))
    return entries


def _link_beats(session, ids, points, sources, nearest: dict[int, Nearest], zones: dict[int, list[int]]) -> None:
    index = sources.beats.first_covering(points)
    beats = [None] * len(ids)
    found = np.flatnonzero(index >= 0)
    for position, beat_id in zip(found.tolist(), sources.beat_ids[index[found]].tolist()):
        beats[position] = beat_id
    now = datetime.now(UTC)
    insert_rows(session, BuildingLink, [
        {"building_id": building_id, "beat_id": beat_id, "computed_at": now, "nearest": nearest.get(building_id),
         "zones": zones.get(building_id)} for building_id, beat_id in zip(ids, beats)])


def _link_zones(session, ids, points, sources) -> dict[int, list[int]]:
    """Store the zones that cover each building; each building's zone ids, in order, as its links row holds them."""
    point_idx, zone_idx = sources.zones.covering(points)
    pairs = list(zip(np.asarray(ids, dtype=np.int64)[point_idx].tolist(), sources.zone_ids[zone_idx].tolist()))
    insert_plain_tuples(session, BuildingZone.__table__, ["building_id", "zone_id"], pairs)
    zones: dict[int, list[int]] = {}
    for building_id, zone_id in sorted(pairs):
        zones.setdefault(building_id, []).append(zone_id)
    return zones


def _link_nearest(session, ids, points, doors, category, sources, entries: dict[int, Nearest]) -> None:
    """Store each building's k nearest of the category by walking, and add them to its entries."""
    service_ids, targets = sources.services[category]
    places = sources.places[category]
    m = len(service_ids)
    if not m or not len(ids):
        return
    k = min(K_NEAREST, m)
    origins = np.column_stack([shapely.get_x(points), shapely.get_y(points)])
    chosen = np.zeros((len(ids), k), dtype=np.int64)
    straight_of, walk_of, on_of = np.zeros((len(ids), k)), np.zeros((len(ids), k)), np.zeros((len(ids), k), bool)
    todo, wanted = np.arange(len(ids)), min(m, k + EXTRA_CANDIDATES)
    reachable = _services_in_component(sources.network, doors, places)
    while len(todo):
        candidates, straight = k_nearest(origins[todo], targets, wanted)
        taken = candidates.shape[1]
        pairs = np.column_stack([candidates.ravel(), np.repeat(np.arange(len(todo)), taken)])
        walk = sources.walks.costs(places, doors.take(todo), pairs).reshape(len(todo), taken)
        on = np.isfinite(walk)
        shown = np.where(on, walk, straight)
        order = np.lexsort((service_ids[candidates], straight, shown, ~on))[:, :k]
        best = np.take_along_axis(candidates, order, axis=1)
        best_on = np.take_along_axis(on, order, axis=1)
        best_walk = np.take_along_axis(shown, order, axis=1)
        # Settled: every service there is was a candidate, or the k-th walk is no longer than the straight
        # line to the farthest candidate (any other is at least that far by air, so at least that far on foot).
        # Or every service its streets reach is among them (the rest are listed by the straight line).
        settled = ((taken >= m) | (best_on.all(axis=1) & (best_walk[:, -1] <= straight[:, -1]))
                   | (on.sum(axis=1) >= reachable[todo]))
        rows = todo[settled]
        chosen[rows] = best[settled]
        straight_of[rows] = np.take_along_axis(straight, order, axis=1)[settled]
        walk_of[rows], on_of[rows] = best_walk[settled], best_on[settled]
        todo, wanted = todo[~settled], min(m, wanted * 2)
    ranks = np.tile(np.arange(1, k + 1), len(ids))
    rows = list(zip(np.repeat(ids, k).tolist(), [category] * chosen.size, ranks.tolist(),
                    service_ids[chosen].ravel().tolist(), straight_of.ravel().tolist(), walk_of.ravel().tolist(),
                    on_of.ravel().tolist()))
    insert_plain_tuples(session, BuildingNearest.__table__, _NEAREST_COLUMNS, rows)
    for building_id, _, _, service_id, metres, walk_m, on_network in rows:  # rank by rank, nearest first
        _add_nearest(entries, building_id, category, service_id, metres, walk_m, on_network)


def _services_in_component(network, doors, places) -> np.ndarray:
    """For each door, how many of the places lie on its component of the network (none off it)."""
    if not len(network):
        return np.zeros(len(doors), dtype=np.int64)
    on = places.edge >= 0
    counts = np.bincount(network.component[places.edge[on]], minlength=int(network.component.max()) + 1)
    found = np.zeros(len(doors), dtype=np.int64)
    attached = doors.edge >= 0
    found[attached] = counts[network.component[doors.edge[attached]]]
    return found


def refresh_after_area_change(session: Session, *geometries) -> int:
    """After a beat or culture zone is added, moved or removed: pass its old and new geometry."""
    affected = active_buildings_covered_by(session, geometries)
    return refresh_links(session, affected, categories=[]) if affected else 0


def refresh_after_service_change(session: Session, service: ServicePoint, old_category: str | None = None) -> int:
    """After a service point is added, moved or recategorised (and flushed): refresh the buildings it can affect.

    Those are the buildings that list it now, and those its position is closer to than
    their current k-th nearest of the category (or that list fewer than k). Pass the
    category it had when that changed: it leaves those lists for the next nearest.
    """
    affected = _buildings_listing(session, service)
    refreshed = 0
    if old_category is not None and old_category != service.category:
        session.execute(delete(BuildingNearest).where(BuildingNearest.service_point_id == service.id))
        refreshed = refresh_links(session, affected, categories=[old_category], containment=False) if affected else 0
        affected = set()
    affected.update(_buildings_closer_than_their_kth(session, service.category, service.geom))
    return refreshed + (refresh_links(session, affected, categories=[service.category], containment=False)
                        if affected else 0)


def remove_service_point(session: Session, service: ServicePoint) -> int:
    """Delete a service point and give the buildings that listed it their next nearest."""
    affected = _buildings_listing(session, service)
    session.execute(delete(BuildingNearest).where(BuildingNearest.service_point_id == service.id))
    session.delete(service)
    session.flush()
    return refresh_links(session, affected, categories=[service.category], containment=False) if affected else 0


def _buildings_listing(session: Session, service: ServicePoint) -> set[int]:
    return set(session.scalars(
        select(BuildingNearest.building_id).where(BuildingNearest.service_point_id == service.id)))


def _buildings_closer_than_their_kth(session: Session, category: str, where, streets=None) -> set[int]:
    """Active buildings nearer `where` (a point, or the streets that changed) than their k-th nearest
    walk of the category, or that list fewer, or list one the network does not reach.

    Nothing farther can change a list: a walk through `where` is at least as long as the straight line
    to it. Read a chunk at a time: with such lists anywhere, every building; otherwise those in the box
    that holds the largest k-th walk of any building around `where`.

    `streets`, after a change of streets: (the network now, the category's services attached to it). A list
    short of walks then changes only where the building's street now reaches another number of the
    category's services than it listed as walked, or the change is nearer than its longest listed walk.
    """
    kth_walk = case((BuildingNearest.on_network.is_(True), BuildingNearest.walk_m), else_=None)
    listed = aliased(BuildingNearest)
    walked = and_(listed.building_id == Building.id, listed.category == category, listed.on_network.is_(True))
    longest = select(func.max(listed.walk_m)).where(walked).scalar_subquery()
    reachable = select(func.count()).select_from(listed).where(walked).scalar_subquery()
    query = (select(Building.id, Building.point, kth_walk, *((longest, reachable) if streets is not None
                                                            else (literal(None), literal(None))))
             .outerjoin(BuildingNearest, and_(BuildingNearest.building_id == Building.id,
                                              BuildingNearest.category == category,
                                              BuildingNearest.rank == K_NEAREST))
             .where(Building.status == BuildingStatus.ACTIVE))
    short_lists = session.scalar(select(func.count()).select_from(query.where(kth_walk.is_(None)).subquery()))
    if not short_lists:
        reach = session.scalar(select(func.max(BuildingNearest.walk_m)).where(
            BuildingNearest.category == category, BuildingNearest.rank == K_NEAREST))
        if reach is None:
            return set()
        west, south, east, north = where.bounds
        box = (bbox_around(west, south, reach)[:2] + bbox_around(east, north, reach)[2:])
        query = spatial_store(session).within(query, Building, "point", box, exact=False)
    onward = 0.0
    if streets is not None and len(streets[1]):
        places = streets[1]
        onward = float(_metres_to(shapely.points(places.lon, places.lat), where).min())
    affected, last = set(), 0
    while rows := session.execute(query.where(Building.id > last).order_by(Building.id)
                                  .limit(LINK_CHUNK_ROWS)).all():
        last = rows[-1][0]
        points = np.array([row[1] for row in rows], dtype=object)
        bound = np.array([np.nan if row[2] is None else row[2] for row in rows], dtype=float)
        short = np.isnan(bound)
        if streets is None:
            affected.update(np.asarray([row[0] for row in rows])[short].tolist())
        else:  # the services its street now reaches are not those it listed as walked, or a walk may have changed
            network, places = streets
            doors = attach(network.geoms, shapely.get_x(points[short]), shapely.get_y(points[short]))
            now = np.minimum(_services_in_component(network, doors, places), K_NEAREST)
            before = np.array([row[4] or 0 for row in rows], dtype=np.int64)[short]
            longest_walk = np.array([-np.inf if row[3] is None else row[3] for row in rows], dtype=float)[short]
            bound[short] = np.where((now != before) | (doors.edge < 0), np.inf, longest_walk)
        measured = ~np.isnan(bound)
        if measured.any():
            # A walk that passes the change goes on from it to a service: at least the straight line to the nearest.
            distance = _metres_to(points[measured], where) + onward
            ids = np.asarray([row[0] for row in rows])[measured]
            affected.update(ids[distance < bound[measured]].tolist())
    return affected


def _metres_to(points: np.ndarray, where) -> np.ndarray:
    """Metres from each point to `where`: geodesic to a point; to lines, a little under the truth."""
    if isinstance(where, shapely.Point):
        return geodesic_distance(shapely.get_x(points), shapely.get_y(points),
                                 np.full(len(points), where.x), np.full(len(points), where.y))
    plane = plane_for(where.bounds)
    lines = plane.project([where])[0]
    # The local plane's scale is true at its latitude and within 0.1% across a city: 1% under is safe.
    return shapely.distance(plane.project(points), lines) * 0.99


def refresh_after_street_change(session: Session, changed) -> int:
    """After roads are added, moved or removed (and the network made again): pass their old and new
    lines. Relinks every building whose walks they can change (see _buildings_closer_than_their_kth)."""
    lines = [geometry for geometry in changed if geometry is not None and not geometry.is_empty]
    if not lines:
        return 0
    where = shapely.union_all(lines)
    network = stored_network(session)
    affected: set[int] = set()
    for category in ServiceCategory:
        where_services = session.scalars(select(ServicePoint.geom).where(ServicePoint.category == category.value)).all()
        places = attach(network.geoms, [p.x for p in where_services], [p.y for p in where_services])
        affected |= _buildings_closer_than_their_kth(session, category.value, where, (network, places))
    return refresh_links(session, affected, containment=False) if affected else 0
