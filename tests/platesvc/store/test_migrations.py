import pytest
from sqlalchemy import inspect, select, text

from platesvc.store import migrations
from platesvc.store.database import db
from platesvc.store.models import BuildingLink

TABLES = {"divisions", "roads", "buildings", "plates", "plate_series", "police_beats", "officers",
          "service_points", "culture_zones", "culture_notes"}


def _tables():
    return set(inspect(db.engine).get_table_names())


def test_upgrade_downgrade_upgrade(app):
    assert migrations.current_revision(db.engine) == migrations.head_revision()
    assert TABLES <= _tables()
    migrations.downgrade(db.engine, "base")
    assert migrations.current_revision(db.engine) is None
    assert not (TABLES & _tables())
    assert not {t for t in _tables() if t.startswith("rtree_")}
    migrations.upgrade(db.engine)
    assert TABLES <= _tables()


def test_spatial_columns_are_indexed(app):
    if db.engine.dialect.name == "postgresql":
        gist = {(i["name"]) for t in TABLES for i in inspect(db.engine).get_indexes(t)
                if i["name"].endswith("_gist")}
        assert {"ix_buildings_point_gist", "ix_service_points_geom_gist", "ix_police_beats_geom_gist"} <= gist
    else:
        assert {"rtree_buildings_point", "rtree_service_points_geom", "rtree_police_beats_geom"} <= _tables()


def test_db_upgrade_command_reports_the_revision(runner, app):
    migrations.downgrade(db.engine, "base")
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"empty → {migrations.head_revision()}" in result.output
    again = runner.invoke(args=["db", "upgrade"])
    assert "already at" in again.output


def _links() -> dict:
    rows = db.session.execute(select(BuildingLink.building_id, BuildingLink.nearest, BuildingLink.zones)).all()
    db.session.rollback()  # no transaction of the test's may hold the table while a migration changes it
    return {building_id: (nearest, zones) for building_id, nearest, zones in rows}


def test_building_links_become_json_from_the_tables_they_copy(seeded_app):
    written = _links()  # as links.py writes them
    assert any(nearest for nearest, _ in written.values()) and any(zones for _, zones in written.values())
    migrations.downgrade(db.engine, "0012")  # back to folded text
    with db.engine.connect() as connection:
        folded = connection.execute(text("SELECT nearest FROM building_links WHERE nearest IS NOT NULL")).scalar()
    assert all(len(entry.split(":")) == 4 for entry in folded.split(";"))
    migrations.upgrade(db.engine)
    rebuilt = _links()
    assert rebuilt.keys() == written.keys()
    for building_id, (nearest, zones) in written.items():
        again, again_zones = rebuilt[building_id]
        assert again_zones == zones
        assert (again or {}).keys() == (nearest or {}).keys()
        for category, services in (nearest or {}).items():
            # As 0013 folds them back: id and straight metres (0018's walks come with the next relink).
            assert [service_id for service_id, *_ in again[category]] == [service_id for service_id, *_ in services]
            assert ([metres for _, metres, *_ in again[category]]
                    == pytest.approx([metres for _, metres, *_ in services]))
