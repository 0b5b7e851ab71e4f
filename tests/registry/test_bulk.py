"""Bulk inserts skip rows that clash with a unique key, whichever path the backend takes."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, Table, func, select, text

from registry.bulk.writes import COPY_THRESHOLD, insert_ignoring_conflicts
from registry.db import unit_of_work
from registry.models import Case
from registry.status import CaseStatus

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def case_row(n: int) -> dict[str, object]:
    return {
        "url": f"http://bulk{n}.example/",
        "url_sha256": f"{n:064x}",
        "display_url": f"hxxp://bulk{n}[.]example/",
        "host": f"bulk{n}.example",
        "registrable_domain": f"bulk{n}.example",
        "status": CaseStatus.NEW,
        "is_open": True,
        "escalation_level": 0,
        "needs_analyst": False,
        "category": "A",
        "content_sha256": None,
        "trace_attempts": 0,
        "confirmed_at": NOW,
        "opened_at": NOW,
        "updated_at": NOW,
    }


def insert(engine: Engine, rows: list[dict[str, object]]) -> list[tuple[object, ...]]:
    table = Case.__table__
    assert isinstance(table, Table)
    with unit_of_work(engine) as session:
        return insert_ignoring_conflicts(
            session,
            table,
            rows,
            conflict_columns=["url_sha256"],
            conflict_where=text("is_open"),
            returning=["url_sha256", "id"],
        )


def test_a_clash_in_a_large_batch_skips_only_the_clashing_row(engine: Engine) -> None:
    # Someone else opened case 7 meanwhile: the batch must not fail, and must not duplicate it.
    [(_, taken_id)] = insert(engine, [case_row(7)])
    rows = [case_row(n) for n in range(COPY_THRESHOLD + 50)]
    inserted = insert(engine, rows)
    assert len(inserted) == len(rows) - 1
    assert f"{7:064x}" not in {key for key, _ in inserted}
    assert len({case_id for _, case_id in inserted} | {taken_id}) == len(rows)
    with unit_of_work(engine) as session:
        assert session.scalar(select(func.count()).select_from(Case)) == len(rows)


def test_ids_returned_belong_to_the_rows_they_are_returned_with(engine: Engine) -> None:
    inserted = dict(insert(engine, [case_row(n) for n in range(COPY_THRESHOLD + 5)]))
    with unit_of_work(engine) as session:
        stored = {
            key: case_id for key, case_id in session.execute(select(Case.url_sha256, Case.id))
        }
    assert inserted == stored
