"""Store each building's nearest services and culture zones in its links row as JSON, not folded text.

`nearest` becomes {category: [[service point id, metres], ...], ...}, nearest first, and
`zones` [zone id, ...]; both are rebuilt from building_nearest and building_zones, of
which they are the copy a scan reads in one row.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

NEAREST_JSON = {
    "postgresql": "(SELECT json_object_agg(category, services) FROM ("
                  "SELECT category, json_agg(json_build_array(service_point_id, distance_m) ORDER BY rank) "
                  "AS services FROM building_nearest AS n WHERE n.building_id = building_links.building_id "
                  "GROUP BY category) AS c)",
    # json_group_array keeps the order its rows come in; over no rows it makes [] (and
    # json_group_object {}) where PostgreSQL's aggregates and links.py give NULL.
    "sqlite": "(SELECT NULLIF(json_group_object(category, json(services)), '{}') FROM ("
              "SELECT category, json_group_array(json_array(service_point_id, distance_m)) AS services FROM ("
              "SELECT * FROM building_nearest AS n WHERE n.building_id = building_links.building_id ORDER BY rank) "
              "GROUP BY category))",
}
ZONES_JSON = {
    "postgresql": "(SELECT json_agg(zone_id ORDER BY zone_id) FROM building_zones AS z "
                  "WHERE z.building_id = building_links.building_id)",
    "sqlite": "(SELECT NULLIF(json_group_array(zone_id), '[]') FROM (SELECT zone_id FROM building_zones AS z "
              "WHERE z.building_id = building_links.building_id ORDER BY zone_id))",
}


def upgrade():
    dialect = op.get_bind().dialect.name
    op.drop_column("building_links", "zones")
    op.drop_column("building_links", "nearest")
    op.add_column("building_links", sa.Column("nearest", sa.JSON))
    op.add_column("building_links", sa.Column("zones", sa.JSON))
    op.execute(f"UPDATE building_links SET nearest = {NEAREST_JSON[dialect]}, zones = {ZONES_JSON[dialect]}")


def downgrade():
    # Back to 0006's folded text, written as 0006 writes it: migrations stay as they ran, importing none.
    op.drop_column("building_links", "zones")
    op.drop_column("building_links", "nearest")
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
