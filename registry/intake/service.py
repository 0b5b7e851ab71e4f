"""Intake: confirmed reports in, one open case per normalised URL, in bulk.

The counts obey ``received == cases_opened + reports_attached + duplicates + len(rejected)``:
every row of the file is accounted for exactly once.

Work is done in set operations (a few queries per thousand rows, inserts in bulk through
:mod:`registry.bulk`), so 100,000 rows cost seconds, not 100,000 round trips. Inserts skip
conflicting rows, so two intakes racing on the same URL or report never fail and never
duplicate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select, text
from sqlalchemy.orm import Session

from registry.base import utcnow
from registry.bulk import insert_ignoring_conflicts, insert_rows
from registry.intake.reader import RawRow, RowProblem, read_reports
from registry.intake.validate import ValidReport, validate_rows
from registry.models import Case, CaseEvent, Report
from registry.status import CaseStatus, EventKind

CHUNK = 2000
"""Keys per IN (...) query: well under every backend's parameter limit."""


@dataclass(frozen=True, slots=True)
class Rejection:
    line: int
    report_id: str
    error: str


@dataclass(slots=True)
class IntakeResult:
    received: int = 0
    cases_opened: int = 0
    reports_attached: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    ignored_columns: tuple[str, ...] = ()
    case_ids: list[int] = field(default_factory=list)
    """Every case a report of this file went to (opened or attached), in file order."""

    def to_json(self) -> dict[str, Any]:
        """The shape ``takedown intake --json`` prints (an external contract)."""
        return {
            "received": self.received,
            "cases_opened": self.cases_opened,
            "reports_attached": self.reports_attached,
            "duplicates": self.duplicates,
            "rejected": [
                {"line": r.line, "report_id": r.report_id, "error": r.error} for r in self.rejected
            ],
        }


def ingest_file(
    session: Session,
    data: bytes,
    filename: str = "",
    *,
    categories: Collection[str],
    default_source: str,
    actor: str = "intake",
    flow_run_id: str | None = None,
    now: datetime | None = None,
) -> IntakeResult:
    """Validate and store every report in ``data``; flush, but leave the commit to the caller.

    Raises :class:`registry.intake.reader.UnreadableFile` when the file as a whole cannot be read.
    """
    now = now or utcnow()
    result = IntakeResult()
    raw: list[RawRow] = []
    ignored: set[str] = set()
    for row in read_reports(data, filename):
        result.received += 1
        if isinstance(row, RowProblem):
            result.rejected.append(Rejection(row.line, row.report_id, row.error))
        else:
            ignored.update(row.ignored_columns)
            raw.append(row)
    valid: list[ValidReport] = []
    for outcome in validate_rows(
        raw, categories=categories, default_source=default_source, now=now
    ):
        if isinstance(outcome, RowProblem):
            result.rejected.append(Rejection(outcome.line, outcome.report_id, outcome.error))
        else:
            valid.append(outcome)
    result.ignored_columns = tuple(sorted(ignored))
    _store(session, valid, result, actor=actor, flow_run_id=flow_run_id, now=now)
    result.rejected.sort(key=lambda r: r.line)
    return result


def url_key(url: str) -> str:
    """The indexed key of a normalised URL."""
    return hashlib.sha256(url.encode()).hexdigest()


def _store(
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
        for chunk in _chunks(report_ids):
            rows = session.execute(
                select(Report.report_id).where(Report.source == source, Report.report_id.in_(chunk))
            )
            known.update((source, row[0]) for row in rows)
    result.duplicates += sum(1 for r in unique if (r.source, r.report_id) in known)
    return [r for r in unique if (r.source, r.report_id) not in known]


def _open_cases(session: Session, keys: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(keys):
        rows = session.execute(
            select(Case.url_sha256, Case.id).where(Case.is_open, Case.url_sha256.in_(chunk))
        )
        found.update({row[0]: row[1] for row in rows})
    return found


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
