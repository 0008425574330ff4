"""Spatial lookups through the index of each backend: GiST on PostGIS, R*Tree on SQLite."""

import shapely
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from platesvc.models import Building, BuildingStatus
from platesvc.spatial_index import rtree_table

BBox = tuple[float, float, float, float]  # min lon, min lat, max lon, max lat


def active_buildings_in_bbox(session: Session, bbox: BBox) -> list[tuple[int, shapely.Point]]:
    """(id, point) of active buildings whose point falls in the box."""
    if session.get_bind().dialect.name == "postgresql":
        inside = Building.point.op("&&")(
            text("ST_MakeEnvelope(:min_x, :min_y, :max_x, :max_y, 4326)"))
    else:
        rtree = rtree_table("buildings", "point")
        inside = Building.id.in_(text(
            f"SELECT id FROM {rtree} WHERE max_x >= :min_x AND min_x <= :max_x "
            "AND max_y >= :min_y AND min_y <= :max_y"))
    rows = session.execute(
        select(Building.id, Building.point).where(inside, Building.status == BuildingStatus.ACTIVE),
        dict(zip(("min_x", "min_y", "max_x", "max_y"), bbox)),
    ).all()
    box = shapely.box(*bbox)
    return [(building_id, point) for building_id, point in rows if box.covers(point)]


def active_buildings_covered_by(session: Session, geometries) -> set[int]:
    """Ids of active buildings whose point lies in any of the geometries."""
    ids = set()
    for geometry in geometries:
        if geometry is None or geometry.is_empty:
            continue
        shapely.prepare(geometry)
        ids.update(building_id for building_id, point in active_buildings_in_bbox(session, geometry.bounds)
                   if geometry.covers(point))
    return ids
