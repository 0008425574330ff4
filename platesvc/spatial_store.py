"""Spatial lookups through the index of each backend: GiST on PostGIS, R*Tree on SQLite."""

import shapely
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from platesvc.models import Building, BuildingStatus, Division, DivisionLevel
from platesvc.spatial_index import rtree_table

BBox = tuple[float, float, float, float]  # min lon, min lat, max lon, max lat


def in_bbox(session: Session, model, column: str):
    """A condition: the model's indexed geometry column's bounds meet the box bound as :min_x … :max_y.

    Through the index (GiST on PostGIS; an R*Tree on SQLite, whose bounds are rounded
    outwards to 32-bit floats): a caller tests the candidates' geometry itself.
    """
    if session.get_bind().dialect.name == "postgresql":
        envelope = text("ST_MakeEnvelope(:min_x, :min_y, :max_x, :max_y, 4326)")
        return getattr(model, column).op("&&")(envelope)
    rtree = rtree_table(model.__tablename__, column)
    return model.id.in_(text(f"SELECT id FROM {rtree} WHERE max_x >= :min_x AND min_x <= :max_x "
                             "AND max_y >= :min_y AND min_y <= :max_y"))


def box_params(bbox: BBox) -> dict:
    """The parameters `in_bbox` conditions are bound with."""
    return dict(zip(("min_x", "min_y", "max_x", "max_y"), bbox))


def active_buildings_in_bbox(session: Session, bbox: BBox) -> list[tuple[int, shapely.Point]]:
    """(id, point) of active buildings whose point falls in the box."""
    rows = session.execute(
        select(Building.id, Building.point).where(in_bbox(session, Building, "point"),
                                                  Building.status == BuildingStatus.ACTIVE),
        box_params(bbox),
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


def district_containing(session: Session, longitude: float, latitude: float) -> str | None:
    """The code of the district (county-level division) a point lies in, if any."""
    point = shapely.Point(longitude, latitude)
    rows = session.execute(select(Division.code, Division.geom).where(
        Division.level == DivisionLevel.DISTRICT, in_bbox(session, Division, "geom")),
        box_params((longitude, latitude, longitude, latitude))).all()
    return next((code for code, geom in rows if geom.covers(point)), None)
