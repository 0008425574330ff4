"""Drop the counter of changes to plates and buildings: workers no longer keep them in memory.

The map's features are read from the store on every request, so nothing waits on this
counter, and bumping it made every plate change wait on one row.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("generations") as batch:
        batch.drop_column("plates")


def downgrade():
    with op.batch_alter_table("generations") as batch:
        batch.add_column(sa.Column("plates", sa.Integer, nullable=False, server_default="0"))
