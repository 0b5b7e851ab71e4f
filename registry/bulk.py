"""Bulk writes: many rows in a few statements, on whichever backend the session uses.

On PostgreSQL the rows travel by ``COPY`` (the fastest way in) into a staging table, and one
``INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING`` moves them to the real table, so
concurrent writers of the same keys neither fail nor duplicate. On SQLite, where statements are
in-process calls, an ``executemany`` of the same upsert does the job.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from enum import Enum
from functools import lru_cache
from itertools import count
from operator import itemgetter
from typing import Any

from psycopg2.errors import UniqueViolation
from sqlalchemy import Boolean, DateTime, Insert, Integer, String, Table
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.types import TypeDecorator, TypeEngine

COPY_THRESHOLD = 200
"""Below this many rows a plain statement is cheaper than setting up a COPY."""

_staging_names = count()


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table``."""
    if not rows:
        return
    if _dialect(session) == "postgresql" and len(rows) >= COPY_THRESHOLD:
        _copy(session, table.name, table, list(rows[0]), rows)
    else:
        session.execute(table.insert(), list(rows))


def insert_ignoring_conflicts(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    conflict_columns: Sequence[str],
    conflict_where: TextClause | None = None,
    returning: Sequence[str],
) -> list[tuple[Any, ...]]:
    """Insert the rows that do not clash with a unique key; return ``returning`` of those.

    Rows clashing with existing rows, or with rows another transaction inserts meanwhile, are
    skipped silently here: the caller tells them apart by what comes back.
    """
    if not rows:
        return []
    if _dialect(session) == "postgresql" and len(rows) >= COPY_THRESHOLD:
        # Optimistic: callers have already dropped the rows they know to exist, so a clash
        # means another writer raced us. Try the direct COPY; only on a clash pay for staging.
        try:
            with session.begin_nested():
                return _copy_direct(session, table, rows, returning)
        except UniqueViolation:
            return _copy_upsert(session, table, rows, conflict_columns, conflict_where, returning)
    insert_fn = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
    stmt: Insert = insert_fn(table).on_conflict_do_nothing(
        index_elements=list(conflict_columns), index_where=conflict_where
    )
    stmt = stmt.returning(*(table.c[name] for name in returning))
    return [tuple(row) for row in session.execute(stmt, list(rows))]


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _copy_direct(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], returning: Sequence[str]
) -> list[tuple[Any, ...]]:
    """COPY the rows straight into ``table``; ids, if asked for, come from its sequence."""
    if "id" in returning and "id" not in rows[0]:
        cursor = _cursor(session)
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            (table.name, len(rows)),
        )
        rows = [
            row | {"id": new_id} for row, (new_id,) in zip(rows, cursor.fetchall(), strict=True)
        ]
    _copy(session, table.name, table, list(rows[0]), rows)
    pick = itemgetter(*returning)
    return [tuple(pick(row)) if len(returning) > 1 else (pick(row),) for row in rows]


def _copy_upsert(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    conflict_columns: Sequence[str],
    conflict_where: TextClause | None,
    returning: Sequence[str],
) -> list[tuple[Any, ...]]:
    columns = list(rows[0])
    staging = f"staging_{table.name}_{next(_staging_names)}"
    cursor = _cursor(session)
    column_list = ", ".join(columns)
    cursor.execute(
        f"CREATE TEMP TABLE {staging} ON COMMIT DROP AS "  # noqa: S608 (names are ours)
        f"SELECT {column_list} FROM {table.name} WITH NO DATA"
    )
    _copy(session, staging, table, columns, rows)
    where = f" WHERE {conflict_where.text}" if conflict_where is not None else ""
    cursor.execute(
        f"INSERT INTO {table.name} ({column_list}) "  # noqa: S608 (names are ours)
        f"SELECT {column_list} FROM {staging} "
        f"ON CONFLICT ({', '.join(conflict_columns)}){where} DO NOTHING "
        f"RETURNING {', '.join(returning)}"
    )
    result = [tuple(row) for row in cursor.fetchall()]
    cursor.execute(f"DROP TABLE {staging}")
    return result


def _copy(
    session: Session,
    target: str,
    table: Table,
    columns: list[str],
    rows: Sequence[dict[str, Any]],
) -> None:
    """COPY ``rows`` into ``target`` (``table`` itself, or a staging table shaped like it)."""
    buffer = io.StringIO()
    # The hot path: one encoder per column, chosen once from its type, then a join per row.
    encoders = [_encoder(table.c[name].type) for name in columns]
    for row in rows:
        buffer.write(
            "\t".join([encode(row[name]) for name, encode in zip(columns, encoders, strict=True)])
        )
        buffer.write("\n")
    buffer.seek(0)
    _cursor(session).copy_expert(f"COPY {target} ({', '.join(columns)}) FROM STDIN", buffer)


def _cursor(session: Session) -> Any:
    # The session's own connection, so the COPY is part of the unit of work's transaction.
    return session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _encoder(column_type: TypeEngine[Any]) -> Callable[[Any], str]:
    """The COPY text encoder for values of ``column_type``."""
    if isinstance(column_type, TypeDecorator):
        column_type = column_type.impl_instance
    if isinstance(column_type, SAEnum):
        return _copy_text
    if isinstance(column_type, String):
        return _encode_text
    if isinstance(column_type, DateTime):
        return _encode_timestamp
    if isinstance(column_type, Boolean):
        return _encode_boolean
    if isinstance(column_type, Integer):
        return _encode_integer
    return _copy_text


def _encode_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if type(value) is not str:
        return _copy_text(value)
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_ESCAPES)
    return value


def _encode_timestamp(value: Any) -> str:
    return "\\N" if value is None else _timestamp_text(value)


@lru_cache(maxsize=8192)
def _timestamp_text(value: datetime) -> str:
    # Rows of one intake share a handful of instants (now, confirmation times): cached.
    if value.tzinfo is None:
        raise ValueError(f"timestamps must be timezone-aware, got {value!r}")
    return value.isoformat()


def _encode_boolean(value: Any) -> str:
    return "\\N" if value is None else ("t" if value else "f")


def _encode_integer(value: Any) -> str:
    return "\\N" if value is None else str(int(value))


def _copy_text(value: Any) -> str:
    """One value in COPY's text format."""
    if type(value) is str:  # the common case first: most columns are text
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return value.translate(_ESCAPES)
        return value
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, Enum):
        value = value.value
    elif isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"timestamps must be timezone-aware, got {value!r}")
        return value.isoformat()
    elif isinstance(value, dict | list):
        value = json.dumps(value)
    return str(value).translate(_ESCAPES)
