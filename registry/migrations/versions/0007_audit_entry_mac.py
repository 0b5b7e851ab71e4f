"""audit entry mac: each audit entry's HMAC under a key kept outside the database

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Entries written before the key existed keep NULL: they are verified by their hashes.
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("entry_mac", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("entry_mac")
