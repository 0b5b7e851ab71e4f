"""intake hot path: drop an index no query reads, keep NULLs out of another, byte-order keys

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 17:40:00

Every case and report intake writes pays for each index on its table:

- ``ix_cases_registrable_domain``: no query filters or sorts cases by registrable domain
  (tracing reads it from the claimed rows); dropped.
- ``ix_cases_hosting_country``: filled by tracing; every query on it is an equality (the case
  list's country filter, the blocklist's jurisdiction), which a partial index without NULLs
  serves, so the cases intake opens (no country yet) add no entry.
- On PostgreSQL, the keys intake looks up and inserts by (a case's ``url_sha256``, a report's
  ``source`` and ``report_id``) are ASCII by construction (hex digits, portal codes, printable
  report ids): compared as bytes (collation "C") instead of through the locale's collation.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BYTE_ORDER_KEYS = (
    ("cases", "url_sha256", 64),
    ("reports", "source", 32),
    ("reports", "report_id", 128),
)


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_registrable_domain")
        batch_op.drop_index("ix_cases_hosting_country")
        batch_op.create_index(
            "ix_cases_hosting_country",
            ["hosting_country"],
            unique=False,
            sqlite_where=sa.text("hosting_country IS NOT NULL"),
            postgresql_where=sa.text("hosting_country IS NOT NULL"),
        )
    if op.get_bind().dialect.name == "postgresql":
        for table, column, length in BYTE_ORDER_KEYS:
            # The indexes on the column are rebuilt with the new collation.
            op.alter_column(
                table,
                column,
                type_=sa.String(length, collation="C"),
                existing_type=sa.String(length),
                existing_nullable=False,
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, column, length in BYTE_ORDER_KEYS:
            op.alter_column(
                table,
                column,
                type_=sa.String(length),
                existing_type=sa.String(length, collation="C"),
                existing_nullable=False,
            )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_hosting_country")
        batch_op.create_index("ix_cases_hosting_country", ["hosting_country"], unique=False)
        batch_op.create_index("ix_cases_registrable_domain", ["registrable_domain"], unique=False)
