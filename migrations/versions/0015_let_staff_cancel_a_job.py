"""Let staff cancel a job: a job may end cancelled, beside succeeded and failed.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _allow(*statuses: str) -> None:
    # SQLite changes a CHECK only by rebuilding the table, which batch mode does.
    with op.batch_alter_table("staff_jobs", recreate="always") as table:
        table.drop_constraint("status_valid", type_="check")
        table.create_check_constraint("status_valid", f"status IN ({', '.join(repr(s) for s in statuses)})")


def upgrade():
    _allow("queued", "running", "succeeded", "failed", "cancelled")


def downgrade():
    op.execute("UPDATE staff_jobs SET status = 'failed' WHERE status = 'cancelled'")
    _allow("queued", "running", "succeeded", "failed")
