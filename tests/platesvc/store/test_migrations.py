from sqlalchemy import inspect

from platesvc.store import migrations
from platesvc.store.database import db

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
