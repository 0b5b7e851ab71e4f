"""Storing validated reports: one open case per normalised URL, in set operations.

Work is done in set operations (a few queries per file, inserts in bulk through
:mod:`registry.bulk`), so 100,000 rows cost seconds, not 100,000 round trips. Inserts skip
conflicting rows, so two intakes racing on the same URL or report never fail and never
duplicate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, Table, any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session

from registry.bulk import insert_ignoring_conflicts, insert_rows
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
) -> None:
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

    report_rows = [
        {
            "source": r.source,
            "report_id": r.report_id,
            "case_id": case_ids[key],
            "url": r.url.url,
            "confirmed_at": r.confirmed_at,
            "category": r.category,
            "analyst": r.analyst,
            "content_sha256": r.content_sha256,
            "notes": r.notes,
            "had_userinfo": r.url.had_userinfo,
            "received_at": now,
        }
        for key, r in zip(keys, fresh, strict=True)
    ]
    stored = insert_ignoring_conflicts(
        session,
        _table(Report),
        report_rows,
        conflict_columns=["source", "report_id"],
        returning=["source", "report_id"],
    )
    stored_keys = {(row[0], row[1]) for row in stored}
    # Rows another intake stored between our check and our insert are duplicates too.
    result.duplicates += len(report_rows) - len(stored_keys)

    events: list[dict[str, Any]] = []
    first_of_new_case: set[str] = set()
    for key, report in zip(keys, fresh, strict=True):
        if (report.source, report.report_id) not in stored_keys:
            continue
        case_id = case_ids[key]
        result.case_ids.append(case_id)
        if key in opened and key not in first_of_new_case:
            first_of_new_case.add(key)
            result.cases_opened += 1
            events.append(
                _event(case_id, EventKind.OPENED, actor, flow_run_id, now, report, CaseStatus.NEW)
            )
        else:
            result.reports_attached += 1
            events.append(
                _event(case_id, EventKind.REPORT_ATTACHED, actor, flow_run_id, now, report, None)
            )
    insert_rows(session, _table(CaseEvent), events)
    session.flush()


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
    rows = []
    for key, reports in groups.items():
        first = reports[0]
        rows.append(
            {
                "url": first.url.url,
                "url_sha256": key,
                "display_url": first.url.display_url,
                "host": first.url.host,
                "registrable_domain": first.url.registrable_domain,
                "status": CaseStatus.NEW,
                "is_open": True,
                "escalation_level": 0,
                "needs_analyst": False,
                "category": first.category,
                "content_sha256": next(
                    (r.content_sha256 for r in reports if r.content_sha256), None
                ),
                "trace_attempts": 0,
                "confirmed_at": min(r.confirmed_at for r in reports),
                "opened_at": now,
                "updated_at": now,
            }
        )
    inserted = insert_ignoring_conflicts(
        session,
        _table(Case),
        rows,
        conflict_columns=["url_sha256"],
        conflict_where=text("is_open"),
        returning=["url_sha256", "id"],
    )
    return {row[0]: row[1] for row in inserted}


def _event(
    case_id: int,
    kind: EventKind,
    actor: str,
    flow_run_id: str | None,
    now: datetime,
    report: ValidReport,
    to_status: CaseStatus | None,
) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "at": now,
        "kind": kind,
        "from_status": None,
        "to_status": to_status,
        "actor": actor,
        "reason": f"report {report.source}/{report.report_id}",
        "flow_run_id": flow_run_id,
        "detail": None,
    }


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _chunks(items: Iterable[Any]) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch
