"""Add the search index: one entry per standing plate with its address in Chinese tokens, Pinyin and
initials, and a text index over the Pinyin and initials (SQLite: an FTS5 table with the trigram
tokenizer, kept by triggers; PostGIS: pg_trgm's GIN indexes). Entries for plates already issued are
written here.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_FTS_TRIGGERS = {
    "search_entries_ai": "AFTER INSERT ON search_entries BEGIN "
                         "INSERT INTO search_fts (rowid, py, ini) VALUES (new.building_id, new.py, new.ini); END",
    "search_entries_ad": "AFTER DELETE ON search_entries BEGIN "
                         "INSERT INTO search_fts (search_fts, rowid, py, ini) "
                         "VALUES ('delete', old.building_id, old.py, old.ini); END",
    "search_entries_au": "AFTER UPDATE ON search_entries BEGIN "
                         "INSERT INTO search_fts (search_fts, rowid, py, ini) "
                         "VALUES ('delete', old.building_id, old.py, old.ini); "
                         "INSERT INTO search_fts (rowid, py, ini) VALUES (new.building_id, new.py, new.ini); END",
}


def upgrade():
    op.create_table(
        "search_entries",
        sa.Column("building_id", sa.Integer, sa.ForeignKey("buildings.id", ondelete="CASCADE"), primary_key=True,
                  autoincrement=False),
        sa.Column("plate_id", sa.String(12), nullable=False, unique=True),
        sa.Column("district", sa.String(100)),
        sa.Column("subdistrict", sa.String(100)),
        sa.Column("community", sa.String(100)),
        sa.Column("road", sa.String(100)),
        sa.Column("road_pinyin", sa.String(200)),
        sa.Column("number", sa.String(16)),
        sa.Column("name", sa.String(100)),
        sa.Column("longitude", sa.Float, nullable=False),
        sa.Column("latitude", sa.Float, nullable=False),
        sa.Column("zh", sa.Text, nullable=False),
        sa.Column("py", sa.Text, nullable=False),
        sa.Column("ini", sa.Text, nullable=False),
        sa.Column("syllables", sa.Text, nullable=False),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_search_entries_py_trgm ON search_entries USING gin (py gin_trgm_ops)")
        op.execute("CREATE INDEX ix_search_entries_ini_trgm ON search_entries USING gin (ini gin_trgm_ops)")
    else:
        op.execute("CREATE VIRTUAL TABLE search_fts USING fts5(py, ini, content='search_entries', "
                   "content_rowid='building_id', tokenize='trigram')")
        for name, body in _FTS_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
    from platesvc.store.search_entries import refresh_entries
    refresh_entries(Session(bind=bind))


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for name in _FTS_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    op.drop_table("search_entries")
