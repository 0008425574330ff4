"""Count changes to plates and buildings beside those to the reference data, in one row.

Workers keep the map's features in memory, as they keep the reference data, and need
to know when to read them again.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "generations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.Integer, nullable=False),
        sa.Column("plates", sa.Integer, nullable=False),
    )
    op.execute("INSERT INTO generations (id, reference, plates) SELECT id, generation, 0 FROM reference_generation")
    op.drop_table("reference_generation")


def downgrade():
    op.create_table(
        "reference_generation",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("generation", sa.Integer, nullable=False),
    )
    op.execute("INSERT INTO reference_generation (id, generation) SELECT id, reference FROM generations")
    op.drop_table("generations")
