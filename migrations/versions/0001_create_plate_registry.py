"""Create the plate registry: divisions, roads, buildings, plates, beats, services, culture.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from platesvc.store.geometry import GeometryColumn
from platesvc.store.spatial_index import create_spatial_index, drop_spatial_index

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SPATIAL_INDEXES = (
    ("divisions", "geom"),
    ("roads", "geom"),
    ("buildings", "point"),
    ("police_beats", "geom"),
    ("service_points", "geom"),
    ("culture_zones", "geom"),
)


def _timestamp(name, nullable=False):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _in(column, values):
    return sa.CheckConstraint(f"{column} IN ({', '.join(repr(v) for v in values)})", name=f"{column}_valid")


def _create_sourced_table(name, *columns):
    """A table of rows that come from a source file, each keyed by that file's own id."""
    op.create_table(
        name,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source_id", sa.String(64), nullable=False, unique=True),
        *columns,
    )


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")

    op.create_table(
        "divisions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(12), nullable=False, unique=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("divisions.id"), index=True),
        sa.Column("geom", GeometryColumn("MULTIPOLYGON"), nullable=False),
        _in("level", ("district", "subdistrict", "community")),
    )
    _create_sourced_table(
        "roads",
        sa.Column("name", sa.String(100), nullable=False, index=True),
        sa.Column("pinyin", sa.String(200), nullable=False),
        sa.Column("division_code", sa.String(6)),
        sa.Column("geom", GeometryColumn("MULTILINESTRING"), nullable=False),
    )
    _create_sourced_table(
        "buildings",
        sa.Column("road_id", sa.Integer, sa.ForeignKey("roads.id"), index=True),
        sa.Column("number", sa.String(16)),
        sa.Column("division_code", sa.String(6), nullable=False, index=True),
        sa.Column("community_id", sa.Integer, sa.ForeignKey("divisions.id"), index=True),
        sa.Column("name", sa.String(100)),
        sa.Column("floors", sa.Integer),
        sa.Column("footprint", GeometryColumn("MULTIPOLYGON")),
        sa.Column("point", GeometryColumn("POINT"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        _timestamp("retired_at", nullable=True),
        _in("status", ("active", "retired")),
    )
    op.create_table(
        "plate_series",
        sa.Column("prefix", sa.String(6), primary_key=True),
        sa.Column("next_serial", sa.Integer, nullable=False),
    )
    op.create_table(
        "plates",
        sa.Column("id", sa.String(12), primary_key=True),
        sa.Column("prefix", sa.String(6), sa.ForeignKey("plate_series.prefix"), nullable=False),
        sa.Column("serial", sa.Integer, nullable=False),
        sa.Column("building_id", sa.Integer, sa.ForeignKey("buildings.id"), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        _timestamp("issued_at"),
        _timestamp("status_changed_at"),
        sa.UniqueConstraint("prefix", "serial", name="uq_plates_prefix_serial"),
        _in("status", ("issued", "printed", "installed", "damaged", "missing", "replaced", "retired")),
    )
    _create_sourced_table(
        "police_beats",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("station", sa.String(100), nullable=False),
        sa.Column("geom", GeometryColumn("MULTIPOLYGON"), nullable=False),
    )
    op.create_table(
        "officers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("beat_id", sa.Integer, sa.ForeignKey("police_beats.id"), nullable=False, index=True),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
    )
    _create_sourced_table(
        "service_points",
        sa.Column("category", sa.String(32), nullable=False, index=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("phone", sa.String(32)),
        sa.Column("hours", sa.String(100)),
        sa.Column("geom", GeometryColumn("POINT"), nullable=False),
        _in("category", ("elderly_care", "day_care", "meal_point", "assistance_station")),
    )
    _create_sourced_table(
        "culture_zones",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("geom", GeometryColumn("MULTIPOLYGON"), nullable=False),
    )
    _create_sourced_table(
        "culture_notes",
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("road_id", sa.Integer, sa.ForeignKey("roads.id"), index=True),
        sa.Column("zone_id", sa.Integer, sa.ForeignKey("culture_zones.id"), index=True),
        sa.CheckConstraint("(road_id IS NULL) <> (zone_id IS NULL)", name="culture_note_has_one_subject"),
    )
    for table, column in SPATIAL_INDEXES:
        for statement in create_spatial_index(dialect, table, column):
            op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for table, column in SPATIAL_INDEXES:
        for statement in drop_spatial_index(dialect, table, column):
            op.execute(statement)
    for table in ("culture_notes", "culture_zones", "service_points", "officers", "police_beats",
                  "plates", "plate_series", "buildings", "roads", "divisions"):
        op.drop_table(table)
