"""Writing the tracking columns of many rechecked cases at once."""

from __future__ import annotations

from enum import Enum
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from registry.models import Case

_TRACKING_UPDATE = """
UPDATE cases SET
    last_check_at = batch.last_check_at,
    last_outcome = batch.last_outcome,
    consecutive_removed = batch.consecutive_removed,
    next_check_at = batch.next_check_at,
    needs_analyst = batch.needs_analyst,
    analyst_reason = batch.analyst_reason,
    updated_at = batch.updated_at
FROM unnest(%s::integer[], %s::timestamptz[], %s::text[], %s::integer[], %s::timestamptz[],
    %s::boolean[], %s::text[], %s::timestamptz[])
    AS batch (id, last_check_at, last_outcome, consecutive_removed, next_check_at,
    needs_analyst, analyst_reason, updated_at)
WHERE cases.id = batch.id
"""
_TRACKING_FIELDS = (
    "id",
    "last_check_at",
    "last_outcome",
    "consecutive_removed",
    "next_check_at",
    "needs_analyst",
    "analyst_reason",
    "updated_at",
)
_INSTANTS = frozenset({"last_check_at", "next_check_at", "updated_at"})


def write_tracking(session: Session, rows: list[dict[str, Any]]) -> None:
    """Write the tracking columns of many cases: on PostgreSQL in one ``UPDATE … FROM
    unnest(…)`` of one array per column (an executemany costs a round trip per row); on
    SQLite an executemany is in-process."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(update(Case), rows)
        return
    columns = [[row[name] for row in rows] for name in _TRACKING_FIELDS]
    for name, values in zip(_TRACKING_FIELDS, columns, strict=True):
        if name in _INSTANTS:
            # A batch shares a few instants: each is rendered once as ISO 8601 text (with its
            # offset, so the cast to timestamptz reads the same instant the driver would send).
            text = {v: None if v is None else v.isoformat() for v in set(values)}
            values[:] = [text[v] for v in values]
        elif name == "last_outcome":
            values[:] = [v.value if isinstance(v, Enum) else v for v in values]
    # The session's own connection, so the update is part of the unit of work's transaction.
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(_TRACKING_UPDATE, columns)
