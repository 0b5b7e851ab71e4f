"""The bulk fast paths store exactly what the plain paths store.

COPY text is encoded a column at a time (and streamed a slice at a time); SQLite rows go through
the driver with SQLAlchemy's own type processors. Each is held equal to the simple path here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Boolean, DateTime, Integer, String, Table, Text, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from registry.base import Base, UTCDateTime, str_enum
from registry.bulk import copy_text
from registry.bulk import writes as bulk
from registry.bulk.copy_text import EncodedRows, encode_column, encoder
from registry.bulk.writes import insert_ignoring_conflicts
from registry.db import make_engine
from registry.models import Case, CaseEvent
from registry.status import CaseStatus, EventKind

TEXT = st.one_of(st.none(), st.text("ab\\\t\n\r é", max_size=6))
# A few instants, each in several zones: equal values must still encode as themselves.
INSTANTS = st.builds(
    lambda seconds, hours: (
        datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    ).astimezone(timezone(timedelta(hours=hours))),
    st.integers(0, 5),
    st.integers(-12, 12),
)
COLUMN_CASES = [
    (String(32), TEXT),
    (Text(), TEXT),
    (Integer(), st.one_of(st.none(), st.integers(-(2**40), 2**40), st.booleans())),
    (Boolean(), st.one_of(st.none(), st.booleans(), st.integers(0, 1))),
    (UTCDateTime(), st.one_of(st.none(), INSTANTS)),
    (DateTime(timezone=True), st.one_of(st.none(), INSTANTS)),
    (str_enum(CaseStatus), st.one_of(st.none(), st.sampled_from(list(CaseStatus)))),
]


@pytest.mark.parametrize(("column_type", "values"), COLUMN_CASES)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_column_encodes_as_its_values_one_by_one(
    column_type: Any, values: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    column = data.draw(st.lists(values, max_size=12))
    encode = encoder(column_type)
    assert encode_column(column_type, column) == [encode(v) for v in column]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(TEXT, st.integers(0, 9)), min_size=1, max_size=30),
    st.integers(1, 7),
    st.integers(1, 40),
)
def test_copy_text_streamed_in_slices_is_the_whole_text(
    rows: list[tuple[str | None, int]], slice_rows: int, size: int
) -> None:
    types: list[Any] = [Text(), Integer()]
    columns = [[r[0] for r in rows], [r[1] for r in rows]]
    whole = "".join(f"{encoder(types[0])(a)}\t{encoder(types[1])(b)}\n" for a, b in rows)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(copy_text, "COPY_SLICE_ROWS", slice_rows)
        source = EncodedRows(types, columns)
        parts = iter(lambda: source.read(size), "")
        streamed = list(parts)
    assert "".join(streamed) == whole
    assert all(len(part) <= size for part in streamed)


# --- SQLite: the driver path against SQLAlchemy's own insert ---------------------------------

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _event(n: int) -> dict[str, Any]:
    return {
        "case_id": 1,
        "at": NOW.astimezone(timezone(timedelta(hours=n % 3))) + timedelta(microseconds=n),
        "kind": list(EventKind)[n % len(EventKind)],
        "from_status": None if n % 2 else CaseStatus.NEW,
        "to_status": CaseStatus.TRACING,
        "actor": f"actor\t{n}",
        "reason": "",
        "flow_run_id": None,
        "detail": None if n % 3 else {"n": n, "text": "a\nb"},
    }


def _case(n: int) -> dict[str, Any]:
    # Leaves out columns that have Python defaults (notice_round, consecutive_removed).
    return {
        "url": f"http://c{n}.example/",
        "url_sha256": f"{n % 7:064x}",
        "display_url": f"hxxp://c{n}[.]example/",
        "host": f"c{n}.example",
        "registrable_domain": None if n % 4 == 0 else f"c{n}.example",
        "status": CaseStatus.NEW,
        "is_open": True,
        "escalation_level": 0,
        "needs_analyst": bool(n % 2),
        "category": "A",
        "content_sha256": None,
        "trace_attempts": 0,
        "confirmed_at": NOW - timedelta(hours=n),
        "opened_at": NOW,
        "updated_at": NOW,
    }


def _stored(session: Session, table: str) -> list[tuple[Any, ...]]:
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(f"SELECT * FROM {table} ORDER BY id")
    return list(cursor.fetchall())


@pytest.mark.parametrize("count", [1, 5, 1500])
def test_sqlite_driver_inserts_store_what_sqlalchemy_stores(count: int) -> None:
    stored = []
    for fast in (True, False):
        engine = make_engine("sqlite://")
        Base.metadata.create_all(engine)
        with Session(engine) as session:
            session.execute(text("PRAGMA foreign_keys=OFF"))
            events = [_event(n) for n in range(count)]
            cases = [_case(n) for n in range(count)]
            if fast:
                bulk.insert_rows(session, _table(CaseEvent), events)
                returned = insert_ignoring_conflicts(
                    session,
                    _table(Case),
                    cases,
                    conflict_columns=["url_sha256"],
                    conflict_where=text("is_open"),
                    returning=["url_sha256", "id"],
                )
            else:
                session.execute(_table(CaseEvent).insert(), events)
                stmt = sqlite.insert(_table(Case)).on_conflict_do_nothing(
                    index_elements=["url_sha256"], index_where=text("is_open")
                )
                returned = [
                    tuple(row)
                    for row in session.execute(
                        stmt.returning(_table(Case).c.url_sha256, _table(Case).c.id), cases
                    )
                ]
            stored.append(
                (sorted(returned), _stored(session, "case_events"), _stored(session, "cases"))
            )
        engine.dispose()
    assert stored[0] == stored[1]
    assert len(stored[0][0]) == min(count, 7)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(TEXT, st.integers(0, 9)), min_size=1, max_size=20))
def test_rows_given_as_columns_are_the_same_rows(rows: list[tuple[str | None, int]]) -> None:
    dicts = [{"reason": reason, "case_id": case_id} for reason, case_id in rows]
    assert bulk._rows(bulk._columns(dicts)) == dicts
