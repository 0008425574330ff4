"""The spatial index follows every insert, update and delete (R*Tree triggers on SQLite)."""

import pytest
import shapely
from sqlalchemy import select, text

from platesvc.store.database import db
from platesvc.store.models import ServicePoint
from platesvc.store.spatial import spatial_store


def _rtree_box(point_id):
    return db.session.execute(
        text("SELECT min_x, max_x, min_y, max_y FROM rtree_service_points_geom WHERE id = :id"),
        {"id": point_id}).one_or_none()


def _ids_in_box(minx, miny, maxx, maxy):
    if db.engine.dialect.name == "postgresql":
        statement = text("SELECT id FROM service_points WHERE geom && ST_MakeEnvelope(:a, :b, :c, :d, 4326)")
    else:
        statement = text("SELECT id FROM rtree_service_points_geom WHERE max_x >= :a AND min_x <= :c "
                         "AND max_y >= :b AND min_y <= :d")
    return set(db.session.scalars(statement, {"a": minx, "b": miny, "c": maxx, "d": maxy}))


@pytest.mark.parametrize("box", [(106.20, 38.43, 106.30, 38.50), (106.0, 38.3, 106.2, 38.6)])
def test_index_matches_brute_force_bbox(seeded_app, box):
    points = db.session.execute(select(ServicePoint.id, ServicePoint.geom)).all()
    expected = {pid for pid, geom in points if shapely.box(*box).covers(geom)}
    # The index's own bounds are rounded outwards (32-bit floats): it may offer a point just
    # outside, never miss one; the store's exact test settles the edge.
    assert expected and expected <= _ids_in_box(*box)
    exact = spatial_store(db.session).within(select(ServicePoint.id), ServicePoint, "geom", box)
    assert set(db.session.scalars(exact)) == expected


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # PostGIS keeps GiST itself
def test_rtree_follows_updates_and_deletes(seeded_app):
    point = db.session.scalars(select(ServicePoint).limit(1)).one()
    assert _rtree_box(point.id) == pytest.approx((point.geom.x, point.geom.x, point.geom.y, point.geom.y))
    point.geom = shapely.Point(106.5, 38.6)
    db.session.commit()
    assert _rtree_box(point.id) == pytest.approx((106.5, 106.5, 38.6, 38.6))
    db.session.delete(point)
    db.session.commit()
    assert _rtree_box(point.id) is None
