"""Bulk writes: many rows in a few statements, on whichever backend the session uses.

On PostgreSQL the rows travel by ``COPY`` (the fastest way in), encoded a column and a slice at
a time while the server takes in the previous slice; when a unique key clashes, they go into a
staging table and one ``INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING`` moves them to the
real table, so concurrent writers of the same keys neither fail nor duplicate. On SQLite, where
statements are in-process calls, the driver takes the rows directly (``executemany``, or pages
of one multi-row ``INSERT … ON CONFLICT DO NOTHING RETURNING``), each value prepared by its
column type exactly as SQLAlchemy prepares it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from itertools import chain, count
from operator import itemgetter
from typing import Any

from psycopg2.errors import UniqueViolation
from sqlalchemy import DateTime, Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.types import TypeDecorator, TypeEngine

from registry.bulk.copy_text import EncodedRows

COPY_THRESHOLD = 200
"""Below this many rows a plain statement is cheaper than setting up a COPY."""

SQLITE_PAGE_ROWS = 1000
"""Rows per multi-row ``INSERT … RETURNING`` on SQLite (fewer if its variable limit says so)."""

COPY_CHUNK = 1 << 18
"""Characters handed to the driver per read of a COPY source (its default, 8 KiB, is slow)."""

_staging_names = count()


Columns = dict[str, list[Any]]
"""Rows turned inside out: each column's values, in row order (the fast form for encoding)."""


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table``."""
    if rows:
        insert_columns(session, table, _columns(rows))


def insert_columns(session: Session, table: Table, columns: Columns) -> None:
    """Insert the rows that ``columns`` (each column's values, in row order) hold."""
    count = _row_count(columns)
    if not count:
        return
    dialect = _dialect(session)
    if dialect == "postgresql" and count >= COPY_THRESHOLD:
        _copy(session, table.name, table, columns)
    elif dialect == "sqlite" and (full := _with_sqlite_defaults(table, columns)) is not None:
        _sqlite_insert(session, table, full)
    else:
        session.execute(table.insert(), _rows(columns))


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
    return insert_columns_ignoring_conflicts(
        session,
        table,
        _columns(rows),
        conflict_columns=conflict_columns,
        conflict_where=conflict_where,
        returning=returning,
    )


def insert_columns_ignoring_conflicts(
    session: Session,
    table: Table,
    columns: Columns,
    *,
    conflict_columns: Sequence[str],
    conflict_where: TextClause | None = None,
    returning: Sequence[str],
) -> list[tuple[Any, ...]]:
    """:func:`insert_ignoring_conflicts` for rows given as columns."""
    count = _row_count(columns)
    if not count:
        return []
    dialect = _dialect(session)
    if dialect == "postgresql" and count >= COPY_THRESHOLD:
        # Optimistic: callers have already dropped the rows they know to exist, so a clash
        # means another writer raced us. Try the direct COPY; only on a clash pay for staging.
        try:
            with session.begin_nested():
                return _copy_direct(session, table, columns, returning)
        except UniqueViolation:
            return _copy_upsert(
                session, table, columns, conflict_columns, conflict_where, returning
            )
    if dialect == "sqlite" and (full := _with_sqlite_defaults(table, columns)) is not None:
        where = "" if conflict_where is None else f" WHERE {conflict_where.text}"
        conflict = f"ON CONFLICT ({', '.join(conflict_columns)}){where} DO NOTHING"
        return _sqlite_insert(session, table, full, conflict=conflict, returning=returning)
    insert_fn = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt: Insert = insert_fn(table).on_conflict_do_nothing(
        index_elements=list(conflict_columns), index_where=conflict_where
    )
    stmt = stmt.returning(*(table.c[name] for name in returning))
    return [tuple(row) for row in session.execute(stmt, _rows(columns))]


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _columns(rows: Sequence[dict[str, Any]]) -> Columns:
    return {name: list(map(itemgetter(name), rows)) for name in rows[0]}


def _rows(columns: Columns) -> list[dict[str, Any]]:
    """The rows of ``columns`` as dicts again, for SQLAlchemy's own statements."""
    names = list(columns)
    return [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def _row_count(columns: Columns) -> int:
    return len(next(iter(columns.values()))) if columns else 0


def _with_sqlite_defaults(table: Table, columns: Columns) -> Columns | None:
    """The columns plus the constant Python defaults an ORM insert would have added.

    None when a missing column's default must be computed (a callable): that is left to
    SQLAlchemy, so that every path stores exactly what its plain ``insert()`` would.
    """
    count = _row_count(columns)
    full = dict(columns)
    for column in table.columns:
        if column.name in full or column.default is None:
            continue
        if not column.default.is_scalar:
            return None
        full[column.name] = [column.default.arg] * count  # type: ignore[attr-defined]
    return full


def _copy_direct(
    session: Session, table: Table, columns: Columns, returning: Sequence[str]
) -> list[tuple[Any, ...]]:
    """COPY the rows straight into ``table``; ids, if asked for, come from its sequence."""
    if "id" in returning and "id" not in columns:
        cursor = _cursor(session)
        # The sequence is looked up once: as an argument of nextval() it was looked up per row.
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", (table.name,))
        (sequence,) = cursor.fetchone()
        count = len(next(iter(columns.values())))
        cursor.execute(
            "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", (sequence, count)
        )
        columns = {"id": [new_id for (new_id,) in cursor.fetchall()], **columns}
    _copy(session, table.name, table, columns)
    return list(zip(*(columns[name] for name in returning), strict=True))


def _copy_upsert(
    session: Session,
    table: Table,
    columns: Columns,
    conflict_columns: Sequence[str],
    conflict_where: TextClause | None,
    returning: Sequence[str],
) -> list[tuple[Any, ...]]:
    staging = f"staging_{table.name}_{next(_staging_names)}"
    cursor = _cursor(session)
    column_list = ", ".join(columns)
    cursor.execute(
        f"CREATE TEMP TABLE {staging} ON COMMIT DROP AS "  # noqa: S608 (names are ours)
        f"SELECT {column_list} FROM {table.name} WITH NO DATA"
    )
    _copy(session, staging, table, columns)
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


def copy_columns(session: Session, target: str, table: Table, columns: Columns) -> None:
    """COPY the rows of ``columns`` into the table named ``target``, on PostgreSQL.

    ``table`` says each column's type (how its values are encoded): ``target`` itself or a
    staging table with the same columns.
    """
    _copy(session, target, table, columns)


def dbapi_cursor(session: Session) -> Any:
    """A driver cursor on the session's own connection (inside its transaction)."""
    return _cursor(session)


def _copy(session: Session, target: str, table: Table, columns: Columns) -> None:
    """COPY the rows into ``target`` (``table`` itself, or a staging table shaped like it)."""
    source = EncodedRows([table.c[name].type for name in columns], list(columns.values()))
    _cursor(session).copy_expert(
        f"COPY {target} ({', '.join(columns)}) FROM STDIN", source, size=COPY_CHUNK
    )


def _cursor(session: Session) -> Any:
    # The session's own connection, so the COPY is part of the unit of work's transaction.
    return session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]


def _sqlite_insert(
    session: Session,
    table: Table,
    columns: Columns,
    *,
    conflict: str = "",
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Insert the rows through the SQLite driver itself, as ``insert()`` would store them.

    Each value goes through its column type's own bind processor, so what is stored is what
    SQLAlchemy stores; only SQLAlchemy's per-row statement machinery (most of the cost) is
    skipped. With ``returning``, rows go in pages of one multi-row ``INSERT … RETURNING``.
    """
    dialect = session.get_bind().dialect
    prepared = [_bind_values(table.c[name].type, dialect, v) for name, v in columns.items()]
    rows = list(zip(*prepared, strict=True))
    head = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES "  # noqa: S608 (ours)
    marks = f"({', '.join('?' * len(columns))})"
    cursor = _cursor(session)
    if not returning:
        cursor.executemany(f"{head}{marks} {conflict}", rows)
        return []
    variables = cursor.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    page = max(1, min(SQLITE_PAGE_ROWS, variables // len(columns)))
    tail = f" {conflict} RETURNING {', '.join(returning)}"
    result: list[tuple[Any, ...]] = []
    for start in range(0, len(rows), page):
        batch = rows[start : start + page]
        cursor.execute(head + ", ".join([marks] * len(batch)) + tail, list(chain(*batch)))
        result.extend(cursor.fetchall())
    processors = [
        table.c[name].type.dialect_impl(dialect).result_processor(dialect, None)
        for name in returning
    ]
    if any(processors):
        result = [
            tuple(v if f is None else f(v) for f, v in zip(processors, row, strict=True))
            for row in result
        ]
    return result


def _bind_values(column_type: TypeEngine[Any], dialect: Dialect, values: list[Any]) -> list[Any]:
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return values
    impl = column_type.impl_instance if isinstance(column_type, TypeDecorator) else column_type
    if isinstance(impl, DateTime):
        # Rows share few instants (now, confirmation times): each distinct one converted once.
        # Equal instants convert alike: the processor stores them as the same UTC text.
        converted = {value: process(value) for value in set(values)}
        return list(map(converted.__getitem__, values))
    return list(map(process, values))
