"""Log the box of every committed change to what vector tiles show, for workers' tile caches.

Triggers on plates, buildings, roads, service points and police beats fill the log
(platesvc/map_changes.py); it keeps its newest rows only. A migration that rebuilds one
of those tables on SQLite (batch mode) drops its triggers and must make them again.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from alembic import op

from platesvc.store.map_changes import create_log, drop_log

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    for statement in create_log(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade():
    for statement in drop_log(op.get_bind().dialect.name):
        op.execute(statement)
