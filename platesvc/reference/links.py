"""Links precomputed at write time, so a scan only reads: for each active building, the
police beat that contains it, the culture zones that contain it, and its k nearest
service points of each category with geodesic distances.

refresh_links recomputes them for given buildings; the functions below it find exactly
the buildings a change can affect and recompute those. Nothing here commits.
"""

from collections.abc import Collection, Iterator
from datetime import UTC, datetime

import numpy as np
import shapely
from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.orm import Session

from gis.joins import PolygonIndex
from gis.nearest import bbox_around, geodesic_distance, k_nearest
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
LINK_CHUNK_ROWS = 50_000
_NEAREST_COLUMNS = ["building_id", "category", "rank", "service_point_id", "distance_m"]


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

    def __init__(self, session: Session, containment: bool, categories: list[str]):
        self.beats = self.zones = None
        if containment:
            beats = session.execute(select(PoliceBeat.id, PoliceBeat.geom).order_by(PoliceBeat.id)).all()
            self.beat_ids = np.array([beat_id for beat_id, _ in beats], dtype=np.int64)
            self.beats = PolygonIndex([geom for _, geom in beats])
            zones = session.execute(select(CultureZone.id, CultureZone.geom)).all()
            self.zone_ids = np.array([zone_id for zone_id, _ in zones], dtype=np.int64)
            self.zones = PolygonIndex([geom for _, geom in zones])
        self.services = {}
        for category in categories:
            services = session.execute(select(ServicePoint.id, ServicePoint.geom)
                                       .where(ServicePoint.category == category).order_by(ServicePoint.id)).all()
            self.services[category] = (np.array([service_id for service_id, _ in services], dtype=np.int64),
                                       np.array([[geom.x, geom.y] for _, geom in services]).reshape(-1, 2))


def _delete_rows(session: Session, model, ids: list[int] | None, where=None) -> None:
    """Delete the rows of the given buildings (None: of every building)."""
    condition = [] if where is None else [where]
    if ids is None:
        session.execute(delete(model).where(*condition))
    else:
        for chunk in chunks(ids):
            session.execute(delete(model).where(model.building_id.in_(chunk), *condition))


def refresh_links(session: Session, building_ids: Collection[int] | None = None,
                  categories: Collection[str] | None = None, containment: bool = True) -> int:
    """Recompute links of the given active buildings (all when None); returns how many.

    `categories` limits the nearest-service refresh; `containment=False` skips beats and zones.
    Buildings are read and linked a chunk at a time, so a city of millions needs no more
    memory than one chunk; each chunk's links row, with the copy of its nearest services and
    zones that a scan reads, is written once.
    """
    categories = list(categories) if categories is not None else [c.value for c in ServiceCategory]
    sources = _Sources(session, containment, categories)
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
        for category in categories:
            _link_nearest(session, ids, points, category, sources, nearest)
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


# Each building's nearest services as its links row holds them: {category: [[service id, metres], …]}.
Nearest = dict[str, list[list]]


def _add_nearest(entries: dict[int, Nearest], building_id: int, category: str, service_id: int,
                 metres: float) -> None:
    """Add a service to a building's list of its category; callers add each list nearest first."""
    entries.setdefault(building_id, {}).setdefault(category, []).append([service_id, metres])


def _stored_nearest(session: Session, ids: list[int], categories: list[str]) -> dict[int, Nearest]:
    """The stored nearest services of these categories for each of the buildings."""
    entries: dict[int, Nearest] = {}
    if not categories:
        return entries
    for chunk in chunks(ids):
        for building_id, category, _, service_id, metres in session.execute(
                select(*(getattr(BuildingNearest, column) for column in _NEAREST_COLUMNS))
                .where(BuildingNearest.building_id.in_(chunk), BuildingNearest.category.in_(categories))
                .order_by(BuildingNearest.building_id, BuildingNearest.category, BuildingNearest.rank)):
            _add_nearest(entries, building_id, category, service_id, metres)
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


def _link_nearest(session, ids, points, category, sources, entries: dict[int, Nearest]) -> None:
    """Store each building's k nearest of the category, and add them to its entries."""
    service_ids, targets = sources.services[category]
    origins = np.column_stack([shapely.get_x(points), shapely.get_y(points)])
    nearest, distances = k_nearest(origins, targets, K_NEAREST)
    if not nearest.size:
        return
    k = nearest.shape[1]
    ranks = np.tile(np.arange(1, k + 1), len(ids))
    rows = list(zip(np.repeat(ids, k).tolist(), [category] * nearest.size, ranks.tolist(),
                    service_ids[nearest].ravel().tolist(), distances.ravel().tolist()))
    insert_plain_tuples(session, BuildingNearest.__table__, _NEAREST_COLUMNS, rows)
    for building_id, _, _, service_id, metres in rows:  # rank by rank, nearest first
        _add_nearest(entries, building_id, category, service_id, metres)


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


def _buildings_closer_than_their_kth(session: Session, category: str, point: shapely.Point) -> set[int]:
    """Active buildings nearer `point` than their k-th nearest of the category, or that list fewer.

    Read a chunk at a time: with lists short anywhere, every building; otherwise those in
    the box that holds the largest k-th distance of any building around the point.
    """
    query = (select(Building.id, Building.point, BuildingNearest.distance_m)
             .outerjoin(BuildingNearest, and_(BuildingNearest.building_id == Building.id,
                                              BuildingNearest.category == category,
                                              BuildingNearest.rank == K_NEAREST))
             .where(Building.status == BuildingStatus.ACTIVE))
    short_lists = session.scalar(select(func.count()).select_from(query.where(
        BuildingNearest.distance_m.is_(None)).subquery()))
    if not short_lists:
        reach = session.scalar(select(func.max(BuildingNearest.distance_m)).where(
            BuildingNearest.category == category, BuildingNearest.rank == K_NEAREST))
        if reach is None:
            return set()
        query = spatial_store(session).within(query, Building, "point", bbox_around(point.x, point.y, reach),
                                              exact=False)
    affected, last = set(), 0
    while rows := session.execute(query.where(Building.id > last).order_by(Building.id)
                                  .limit(LINK_CHUNK_ROWS)).all():
        last = rows[-1][0]
        points = np.array([row[1] for row in rows], dtype=object)
        distance = geodesic_distance(shapely.get_x(points), shapely.get_y(points),
                                     np.full(len(rows), point.x), np.full(len(rows), point.y))
        affected.update(building_id for (building_id, _, kth), d in zip(rows, distance.tolist())
                        if kth is None or d < kth)
    return affected
