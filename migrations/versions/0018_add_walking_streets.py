"""Add the walkable street network (roads noded at every crossing, small gaps closed) and each
building's walking distance to its nearest service points; pgRouting walks it on PostGIS.

A database that held buildings before has no network yet: `platesvc streets rebuild` makes it and links
every building on foot (until then its pages show the straight line, as before).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from platesvc.store.geometry import GeometryColumn
from platesvc.store.spatial_index import create_spatial_index, drop_spatial_index

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pgrouting")
    op.create_table(
        "street_edges",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("road_id", sa.Integer, sa.ForeignKey("roads.id", ondelete="SET NULL"), index=True),
        sa.Column("source", sa.Integer, nullable=False),
        sa.Column("target", sa.Integer, nullable=False),
        sa.Column("length_m", sa.Float, nullable=False),
        sa.Column("component", sa.Integer, nullable=False),
        sa.Column("geom", GeometryColumn("LINESTRING"), nullable=False),
    )
    for statement in create_spatial_index(dialect, "street_edges", "geom"):
        op.execute(statement)
    op.add_column("building_nearest", sa.Column("walk_m", sa.Float))
    op.add_column("building_nearest", sa.Column("on_network", sa.Boolean))


def downgrade():
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("building_nearest") as batch:
        batch.drop_column("on_network")
        batch.drop_column("walk_m")
    for statement in drop_spatial_index(dialect, "street_edges", "geom"):
        op.execute(statement)
    op.drop_table("street_edges")
