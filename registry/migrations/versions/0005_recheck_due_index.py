"""recheck due index: a partial index serving the recheck claim (PostgreSQL only)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 05:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in registry.models.case (a migration keeps its own copy: the model may change later).
RECHECKED_PREDICATE = "status IN ('traced', 'held', 'notified', 'moved', 'reappeared', 'removed')"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite cannot declare NULLS FIRST in an index, and claims in-process
    op.create_index(
        "ix_cases_recheck_due",
        "cases",
        [sa.text("next_check_at NULLS FIRST"), "id"],
        unique=False,
        postgresql_where=sa.text(RECHECKED_PREDICATE),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_cases_recheck_due", table_name="cases")
