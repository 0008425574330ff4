"""Call the code a resident is given for a report its ticket, as the code does: "reference" now means
only the reference data every plate page shows.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _rename(old: str, new: str) -> None:
    op.execute(f"ALTER TABLE resident_reports RENAME COLUMN {old} TO {new}")  # SQLite has it since 3.25
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE resident_reports RENAME CONSTRAINT resident_reports_{old}_key "
                   f"TO resident_reports_{new}_key")


def upgrade():
    _rename("reference", "ticket")


def downgrade():
    _rename("ticket", "reference")
