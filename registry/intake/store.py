"""Storing validated reports: one open case per normalised URL, in set operations.

Work is done in set operations (a few queries per file, inserts in bulk through
:mod:`registry.bulk.writes`), so 100,000 rows cost seconds, not 100,000 round trips. Inserts skip
conflicting rows, so two intakes racing on the same URL or report never fail and never
duplicate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, any_, bindparam, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session

from registry.base import table_of
from registry.bulk.writes import Columns, insert_columns, insert_columns_ignoring_conflicts
from registry.intake.result import IntakeResult
from registry.intake.validate import ValidReport
from registry.models import Case, CaseEvent, Report
from registry.status import CaseStatus, EventKind

CHUNK = 2000
"""Keys per IN (...) query on SQLite: well under its parameter limit."""


def url_key(url: str) -> str:
    """The indexed key of a normalised URL."""
    return hashlib.sha256(url.encode()).hexdigest()


def store_reports(
    session: Session,
    reports: list[ValidReport],
    result: IntakeResult,
    *,
    actor: str,
    flow_run_id: str | None,
    now: datetime,
    after_earlier_chunks: bool = False,
) -> None:
    """Store one chunk of an intake's reports (in file order); add their outcome to ``result``.

    ``after_earlier_chunks``: earlier chunks of the same file were stored already, so a case
    they opened may take an earlier confirmation or a first digest from this one.
    """
    fresh = _drop_known_reports(session, reports, result)
    keys = [url_key(report.url.url) for report in fresh]  # hashed once, used three times
    by_key: dict[str, list[ValidReport]] = {}
    for key, report in zip(keys, fresh, strict=True):
        by_key.setdefault(key, []).append(report)

    case_ids = _open_cases(session, list(by_key))
    opened = _open_new_cases(session, {k: v for k, v in by_key.items() if k not in case_ids}, now)
    case_ids.update(opened)
    # A case another intake opened for the same URL meanwhile is attached to, not duplicated.
    case_ids.update(_open_cases(session, [k for k in by_key if k not in case_ids]))

    # Rows go to the database as columns: no dict per row to build and take apart again.
    stored = insert_columns_ignoring_conflicts(
        session,
        table_of(Report),
        _report_columns(fresh, [case_ids[key] for key in keys], now),
        conflict_columns=["source", "report_id"],
        returning=["source", "report_id"],
    )
    stored_keys = {(row[0], row[1]) for row in stored}
    # Rows another intake stored between our check and our insert are duplicates too.
    result.duplicates += len(fresh) - len(stored_keys)

    events: list[tuple[int, EventKind, ValidReport]] = []
    first_of_new_case: set[str] = set()
    for key, report in zip(keys, fresh, strict=True):
        if (report.source, report.report_id) not in stored_keys:
            continue
        case_id = case_ids[key]
        result.case_ids.append(case_id)
        if key in opened and key not in first_of_new_case:
            first_of_new_case.add(key)
            result.cases_opened += 1
            events.append((case_id, EventKind.OPENED, report))
        else:
            result.reports_attached += 1
            events.append((case_id, EventKind.REPORT_ATTACHED, report))
    insert_columns(session, table_of(CaseEvent), _event_columns(events, actor, flow_run_id, now))
    if after_earlier_chunks:
        _complete_earlier_cases(
            session, [(c, r) for c, kind, r in events if kind is EventKind.REPORT_ATTACHED], now
        )
    session.flush()


def _complete_earlier_cases(
    session: Session, attached: list[tuple[int, ValidReport]], now: datetime
) -> None:
    """Give cases this intake opened (``opened_at`` is its instant) the earliest confirmation
    and the first digest among their reports in this chunk, where they lack them."""
    earliest: dict[int, datetime] = {}
    digest: dict[int, str] = {}
    for case_id, report in attached:
        if case_id not in earliest or report.confirmed_at < earliest[case_id]:
            earliest[case_id] = report.confirmed_at
        if report.content_sha256 and case_id not in digest:
            digest[case_id] = report.content_sha256
    cases = table_of(Case)
    if earliest:
        session.execute(
            update(cases)
            .where(
                cases.c.id == bindparam("case_id"),
                cases.c.opened_at == now,
                cases.c.confirmed_at > bindparam("earliest"),
            )
            .values(confirmed_at=bindparam("earliest")),
            [{"case_id": k, "earliest": v} for k, v in earliest.items()],
        )
    if digest:
        session.execute(
            update(cases)
            .where(
                cases.c.id == bindparam("case_id"),
                cases.c.opened_at == now,
                cases.c.content_sha256.is_(None),
            )
            .values(content_sha256=bindparam("digest")),
            [{"case_id": k, "digest": v} for k, v in digest.items()],
        )


def _drop_known_reports(
    session: Session, reports: list[ValidReport], result: IntakeResult
) -> list[ValidReport]:
    """Reports whose (source, report_id) is new to the file and to the database."""
    seen: set[tuple[str, str]] = set()
    unique: list[ValidReport] = []
    for report in reports:
        key = (report.source, report.report_id)
        if key in seen:
            result.duplicates += 1
        else:
            seen.add(key)
            unique.append(report)
    by_source: dict[str, list[str]] = {}
    for report in unique:
        by_source.setdefault(report.source, []).append(report.report_id)
    known: set[tuple[str, str]] = set()
    for source, report_ids in by_source.items():
        for matching in _among(session, Report.report_id, report_ids):
            rows = session.execute(
                select(Report.report_id).where(Report.source == source, matching)
            )
            known.update((source, row[0]) for row in rows)
    result.duplicates += sum(1 for r in unique if (r.source, r.report_id) in known)
    return [r for r in unique if (r.source, r.report_id) not in known]


def _open_cases(session: Session, keys: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for matching in _among(session, Case.url_sha256, keys):
        rows = session.execute(select(Case.url_sha256, Case.id).where(Case.is_open, matching))
        found.update({row[0]: row[1] for row in rows})
    return found


def _among(
    session: Session, column: InstrumentedAttribute[str], values: list[str]
) -> Iterator[ColumnElement[bool]]:
    """Conditions that together select the rows whose ``column`` is one of ``values``."""
    if not values:
        return
    if session.get_bind().dialect.name == "postgresql":
        # One array parameter: one round trip, and no statement with thousands of parameters
        # for SQLAlchemy to render.
        yield column == any_(bindparam(None, values, type_=ARRAY(String)))
    else:
        for chunk in _chunks(values):
            yield column.in_(chunk)


def _open_new_cases(
    session: Session, groups: dict[str, list[ValidReport]], now: datetime
) -> dict[str, int]:
    """Insert one case per URL key; return the ids of the cases this call opened.

    A key whose case another intake opened in the meantime is left out of the answer.
    """
    firsts = [reports[0] for reports in groups.values()]
    count = len(firsts)
    inserted = insert_columns_ignoring_conflicts(
        session,
        table_of(Case),
        {
            "url": [r.url.url for r in firsts],
            "url_sha256": list(groups),
            "display_url": [r.url.display_url for r in firsts],
            "host": [r.url.host for r in firsts],
            "registrable_domain": [r.url.registrable_domain for r in firsts],
            "status": [CaseStatus.NEW] * count,
            "is_open": [True] * count,
            "escalation_level": [0] * count,
            "needs_analyst": [False] * count,
            "category": [r.category for r in firsts],
            "content_sha256": [
                next((r.content_sha256 for r in reports if r.content_sha256), None)
                for reports in groups.values()
            ],
            "trace_attempts": [0] * count,
            "confirmed_at": [
                # Most URLs are reported once: no min() over a one-report group.
                reports[0].confirmed_at
                if len(reports) == 1
                else min(r.confirmed_at for r in reports)
                for reports in groups.values()
            ],
            "opened_at": [now] * count,
            "updated_at": [now] * count,
        },
        conflict_columns=["url_sha256"],
        conflict_where=text("is_open"),
        returning=["url_sha256", "id"],
    )
    return {row[0]: row[1] for row in inserted}


def _report_columns(reports: list[ValidReport], case_ids: list[int], now: datetime) -> Columns:
    return {
        "source": [r.source for r in reports],
        "report_id": [r.report_id for r in reports],
        "case_id": case_ids,
        "url": [r.url.url for r in reports],
        "confirmed_at": [r.confirmed_at for r in reports],
        "category": [r.category for r in reports],
        "analyst": [r.analyst for r in reports],
        "content_sha256": [r.content_sha256 for r in reports],
        "notes": [r.notes for r in reports],
        "had_userinfo": [r.url.had_userinfo for r in reports],
        "received_at": [now] * len(reports),
    }


def _event_columns(
    events: list[tuple[int, EventKind, ValidReport]],
    actor: str,
    flow_run_id: str | None,
    now: datetime,
) -> Columns:
    """The case events of ``events`` (case, kind, report): "opened" ones move the case to new."""
    count = len(events)
    return {
        "case_id": [case_id for case_id, _, _ in events],
        "at": [now] * count,
        "kind": [kind for _, kind, _ in events],
        "from_status": [None] * count,
        "to_status": [CaseStatus.NEW if k is EventKind.OPENED else None for _, k, _ in events],
        "actor": [actor] * count,
        "reason": [f"report {r.source}/{r.report_id}" for _, _, r in events],
        "flow_run_id": [flow_run_id] * count,
        "detail": [None] * count,
    }


def _chunks(items: Iterable[Any]) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch
