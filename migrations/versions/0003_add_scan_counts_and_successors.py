"""Record where a retired building went, count plate scans per day, version the reference data.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        # SQLite takes a REFERENCES clause on a new NULL column. Alembic would rebuild the
        # table in batch mode instead, dropping the R*Tree triggers on buildings.
        op.execute("ALTER TABLE buildings ADD COLUMN merged_into_id INTEGER REFERENCES buildings (id)")
    else:
        op.add_column("buildings", sa.Column("merged_into_id", sa.Integer,
                                             sa.ForeignKey("buildings.id", name="fk_buildings_merged_into")))
    op.create_table(
        "plate_scans",
        sa.Column("plate_id", sa.String(12), sa.ForeignKey("plates.id"), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
    )
    generation = op.create_table(
        "reference_generation",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("generation", sa.Integer, nullable=False),
    )
    op.bulk_insert(generation, [{"id": 1, "generation": 0}])


def downgrade():
    op.drop_table("reference_generation")
    op.drop_table("plate_scans")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("fk_buildings_merged_into", "buildings", type_="foreignkey")
    op.drop_column("buildings", "merged_into_id")
