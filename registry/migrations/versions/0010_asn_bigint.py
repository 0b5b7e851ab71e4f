"""asn bigint: AS numbers are 32-bit unsigned, beyond PostgreSQL's integer

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 17:00:00

Private-use and many newer AS numbers (4200000000-4294967294, RFC 6996) overflow a signed
32-bit integer: tracing a URL hosted in such a network failed on PostgreSQL with "integer out
of range". SQLite's integers are 64-bit already.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (("organisations", "asn"), ("cases", "hosting_asn"))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.alter_column(table, column, type_=sa.BigInteger(), existing_type=sa.Integer())


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.alter_column(table, column, type_=sa.Integer(), existing_type=sa.BigInteger())
