"""Add resident reports of damaged, missing or wrong plates and wrong information.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

def upgrade():
    op.create_table(
        "resident_reports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(16), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("plate_id", sa.String(12), sa.ForeignKey("plates.id"), index=True),
        sa.Column("description", sa.Text),
        sa.Column("longitude", sa.Float),
        sa.Column("latitude", sa.Float),
        sa.Column("address", sa.Text),
        sa.Column("photo", sa.LargeBinary),
        sa.Column("media_url", sa.Text),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("assignee_id", sa.Integer, sa.ForeignKey("users.id")),
        sa.Column("public_notes", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("kind IN ('plate_damaged', 'plate_missing', 'plate_wrong', 'info_wrong')",
                           name="kind_valid"),
        sa.CheckConstraint("status IN ('received', 'assigned', 'resolved', 'rejected')", name="status_valid"),
    )


def downgrade():
    op.drop_table("resident_reports")
