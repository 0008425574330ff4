"""Record print batches and which plates each one printed, where on which sheet.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "print_batches",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("selection", sa.Text, nullable=False),
        sa.Column("formats", sa.String(64), nullable=False),
        sa.Column("plate_count", sa.Integer, nullable=False),
        sa.Column("archive", sa.Text, nullable=False),
    )
    op.create_table(
        "plate_prints",
        sa.Column("batch_id", sa.Integer, sa.ForeignKey("print_batches.id"), primary_key=True),
        sa.Column("plate_id", sa.String(12), sa.ForeignKey("plates.id"), primary_key=True),
        sa.Column("file", sa.String(200)),
        sa.Column("page", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
    )
    op.create_index("ix_plate_prints_plate_id", "plate_prints", ["plate_id"])


def downgrade():
    op.drop_index("ix_plate_prints_plate_id", "plate_prints")
    op.drop_table("plate_prints")
    op.drop_table("print_batches")
