"""Add building links: the beat, culture zones and nearest services precomputed per building.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "building_links",
        sa.Column("building_id", sa.Integer, sa.ForeignKey("buildings.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("beat_id", sa.Integer, sa.ForeignKey("police_beats.id", ondelete="SET NULL"), index=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "building_zones",
        sa.Column("building_id", sa.Integer, sa.ForeignKey("buildings.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("zone_id", sa.Integer, sa.ForeignKey("culture_zones.id", ondelete="CASCADE"), primary_key=True,
                  index=True),
    )
    op.create_table(
        "building_nearest",
        sa.Column("building_id", sa.Integer, sa.ForeignKey("buildings.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("category", sa.String(32), primary_key=True),
        sa.Column("rank", sa.Integer, primary_key=True),
        sa.Column("service_point_id", sa.Integer, sa.ForeignKey("service_points.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("distance_m", sa.Float, nullable=False),
    )


def downgrade():
    for table in ("building_nearest", "building_zones", "building_links"):
        op.drop_table(table)
