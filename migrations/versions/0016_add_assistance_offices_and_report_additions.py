"""Add where each division's residents apply for social assistance, and residents' additions to an
open report (rather than a second report of the same problem).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from platesvc.store.geometry import GeometryColumn

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "assistance_offices",
        sa.Column("division_id", sa.Integer, sa.ForeignKey("divisions.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("window_name", sa.String(100)),
        sa.Column("window_address", sa.String(200)),
        sa.Column("window_hours", sa.String(100)),
        sa.Column("window_phone", sa.String(32)),
        sa.Column("window_point", GeometryColumn("POINT")),
        sa.Column("hotline", sa.String(32)),
    )
    op.create_table(
        "report_additions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("report_id", sa.Integer, sa.ForeignKey("resident_reports.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("description", sa.Text),
        sa.Column("photo", sa.LargeBinary),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade():
    op.drop_table("report_additions")
    op.drop_table("assistance_offices")
