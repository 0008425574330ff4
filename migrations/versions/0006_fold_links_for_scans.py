"""Keep each building's nearest services and culture zones folded into its links row.

A scan then reads one row by key instead of aggregating a dozen rows of two tables.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("building_links", sa.Column("nearest", sa.Text))
    op.add_column("building_links", sa.Column("zones", sa.Text))
    aggregate = "string_agg" if op.get_bind().dialect.name == "postgresql" else "group_concat"
    op.execute(
        f"UPDATE building_links SET "
        f"nearest = (SELECT {aggregate}(n.category || ':' || CAST(n.rank AS VARCHAR) || ':' "
        f"|| CAST(n.service_point_id AS VARCHAR) || ':' || CAST(n.distance_m AS VARCHAR), ';') "
        f"FROM building_nearest AS n WHERE n.building_id = building_links.building_id), "
        f"zones = (SELECT {aggregate}(CAST(z.zone_id AS VARCHAR), ';') "
        f"FROM building_zones AS z WHERE z.building_id = building_links.building_id)")


def downgrade():
    op.drop_column("building_links", "zones")
    op.drop_column("building_links", "nearest")
