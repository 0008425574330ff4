"""Links precomputed at write time, so a scan only reads: for each active building, the
police beat that contains it, the culture zones that contain it, and its k nearest
service points of each category with geodesic distances.

refresh_links recomputes them for given buildings; the functions below it find exactly
the buildings a change can affect and recompute those. Nothing here commits.
"""

from collections.abc import Collection
from datetime import UTC, datetime

import numpy as np
import shapely
from sqlalchemy import String, cast, delete, func, select, update
from sqlalchemy.orm import Session

from gis.joins import containing_polygon
from gis.nearest import bbox_around, geodesic_distance, k_nearest
from platesvc.loading import chunks, insert_plain_tuples, insert_rows
from platesvc.models import (
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
from platesvc.spatial_store import active_buildings_covered_by, active_buildings_in_bbox

K_NEAREST = 3
_NEAREST_COLUMNS = ["building_id", "category", "rank", "service_point_id", "distance_m"]
# A building's nearest services and zones as the one text each that a scan reads (BuildingLink).
_FOLDED_NEAREST = (
    select(func.aggregate_strings(
        BuildingNearest.category + ":" + cast(BuildingNearest.rank, String) + ":"
        + cast(BuildingNearest.service_point_id, String) + ":" + cast(BuildingNearest.distance_m, String), ";"))
    .where(BuildingNearest.building_id == BuildingLink.building_id)
    .scalar_subquery()
)
_FOLDED_ZONES = (
    select(func.aggregate_strings(cast(BuildingZone.zone_id, String), ";"))
    .where(BuildingZone.building_id == BuildingLink.building_id)
    .scalar_subquery()
)


def _active_buildings(session: Session, building_ids: Collection[int] | None) -> tuple[list[int], np.ndarray]:
    query = select(Building.id, Building.point).where(Building.status == BuildingStatus.ACTIVE)
    if building_ids is None:
        rows = session.execute(query.order_by(Building.id)).all()
    else:
        rows = [row for chunk in chunks(sorted(building_ids))
                for row in session.execute(query.where(Building.id.in_(chunk))).all()]
    return [row[0] for row in rows], np.array([row[1] for row in rows], dtype=object)


def _delete_rows(session: Session, model, ids: list[int], everything: bool, where=None) -> None:
    condition = [] if where is None else [where]
    if everything:
        session.execute(delete(model).where(*condition))
    else:
        for chunk in chunks(ids):
            session.execute(delete(model).where(model.building_id.in_(chunk), *condition))


def _replace_rows(session: Session, model, ids: list[int], rows: list[dict], everything: bool) -> None:
    _delete_rows(session, model, ids, everything)
    insert_rows(session, model, rows)


def refresh_links(session: Session, building_ids: Collection[int] | None = None,
                  categories: Collection[str] | None = None, containment: bool = True) -> int:
    """Recompute links of the given active buildings (all when None); returns how many.

    `categories` limits the nearest-service refresh; `containment=False` skips beats and zones.
    """
    ids, points = _active_buildings(session, building_ids)
    everything = building_ids is None
    if not ids:
        return 0
    if containment:
        _refresh_beats(session, ids, points, everything)
        _refresh_zones(session, ids, points, everything)
    for category in categories if categories is not None else [c.value for c in ServiceCategory]:
        _refresh_nearest(session, ids, points, category, everything)
    _fold(session, ids, everything)
    return len(ids)


def _fold(session: Session, ids: list[int], everything: bool) -> None:
    fold = update(BuildingLink).values(nearest=_FOLDED_NEAREST, zones=_FOLDED_ZONES)
    if everything:
        session.execute(fold)
    else:
        for chunk in chunks(ids):
            session.execute(fold.where(BuildingLink.building_id.in_(chunk)))


def _refresh_beats(session, ids, points, everything) -> None:
    beats = session.execute(select(PoliceBeat.id, PoliceBeat.geom).order_by(PoliceBeat.id)).all()
    index = containing_polygon(points, [geom for _, geom in beats]) if beats else np.full(len(ids), -1)
    now = datetime.now(UTC)
    rows = [{"building_id": building_id, "beat_id": beats[i][0] if i >= 0 else None, "computed_at": now}
            for building_id, i in zip(ids, index.tolist())]
    _replace_rows(session, BuildingLink, ids, rows, everything)


def _refresh_zones(session, ids, points, everything) -> None:
    zones = session.execute(select(CultureZone.id, CultureZone.geom)).all()
    rows = []
    if zones:
        tree = shapely.STRtree(np.array([geom for _, geom in zones], dtype=object))
        point_idx, zone_idx = tree.query(points, predicate="covered_by")
        rows = [{"building_id": ids[p], "zone_id": zones[z][0]}
                for p, z in zip(point_idx.tolist(), zone_idx.tolist())]
    _replace_rows(session, BuildingZone, ids, rows, everything)


def _refresh_nearest(session, ids, points, category, everything) -> None:
    services = session.execute(
        select(ServicePoint.id, ServicePoint.geom).where(ServicePoint.category == category)
        .order_by(ServicePoint.id)).all()
    targets = np.array([[geom.x, geom.y] for _, geom in services]).reshape(-1, 2)
    origins = np.column_stack([shapely.get_x(points), shapely.get_y(points)])
    nearest, distances = k_nearest(origins, targets, K_NEAREST)
    _delete_rows(session, BuildingNearest, ids, everything, where=BuildingNearest.category == category)
    if not nearest.size:
        return
    k = nearest.shape[1]
    service_ids = np.array([service_id for service_id, _ in services])[nearest]
    ranks = np.tile(np.arange(1, k + 1), len(ids))
    rows = list(zip(np.repeat(ids, k).tolist(), [category] * nearest.size, ranks.tolist(),
                    service_ids.ravel().tolist(), distances.ravel().tolist()))
    insert_plain_tuples(session, BuildingNearest.__table__, _NEAREST_COLUMNS, rows)


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
    kth = dict(session.execute(
        select(BuildingNearest.building_id, BuildingNearest.distance_m)
        .where(BuildingNearest.category == category, BuildingNearest.rank == K_NEAREST)).all())
    short_lists = session.scalar(
        select(func.count()).select_from(Building).where(
            Building.status == BuildingStatus.ACTIVE,
            ~Building.id.in_(select(BuildingNearest.building_id).where(
                BuildingNearest.category == category, BuildingNearest.rank == K_NEAREST))))
    if short_lists:
        # Some buildings list fewer than k of this category: a new point belongs on their list.
        ids, points = _active_buildings(session, None)
    elif kth:
        found = active_buildings_in_bbox(session, bbox_around(point.x, point.y, max(kth.values())))
        ids, points = [i for i, _ in found], np.array([p for _, p in found], dtype=object)
    else:
        return set()
    if not ids:
        return set()
    distance = geodesic_distance(shapely.get_x(points), shapely.get_y(points),
                                 np.full(len(ids), point.x), np.full(len(ids), point.y))
    return {building_id for building_id, d in zip(ids, distance.tolist())
            if building_id not in kth or d < kth[building_id]}

