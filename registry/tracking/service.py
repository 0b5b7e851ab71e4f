"""Rechecks in the system of record: record what the probe saw, and move the cases.

The cases are claimed first (:mod:`registry.tracking.claims`). :func:`record_checks` stores
every check and applies :func:`registry.tracking.decide.decide` to each case.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Table, func, select
from sqlalchemy.orm import Session

from registry.bulk.writes import insert_rows
from registry.cases import move_case
from registry.models import Case, Check
from registry.status import CaseStatus, CheckOutcome
from registry.tally import Tally
from registry.tracking.claims import traced_hosting
from registry.tracking.decide import (
    CHECKED_STATUSES,
    CONTENT_SERVED,
    Decision,
    Observation,
    TracedHosting,
    TrackingPolicy,
    TrackingState,
    decide,
)
from registry.tracking.write import write_tracking

ACTOR = "flow:recheck"


@dataclass(frozen=True, slots=True)
class ProbeReport:
    """What the probe saw for one case, as plain values (never the content)."""

    case_id: int
    outcome: CheckOutcome
    at: datetime
    http_status: int | None = None
    address: str | None = None
    origin_address: str | None = None
    sha256: str | None = None
    bytes_read: int | None = None
    error: str | None = None


@dataclass(slots=True)
class RecheckSummary(Tally):
    """What a batch (or a whole run) of rechecks did."""

    checked: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    removal_verified: int = 0
    reappeared: int = 0
    moved: int = 0
    needs_analyst: int = 0
    """Cases newly flagged for an analyst."""
    closed: int = 0

    def to_json(self) -> dict[str, Any]:
        """The summary ``takedown recheck --json`` prints: every outcome named, even at 0."""
        data = Tally.to_json(self)
        data["outcomes"] = {o.value: self.outcomes.get(o.value, 0) for o in CheckOutcome}
        return data


_TRACKING_COLUMNS = (
    Case.id,
    Case.status,
    Case.consecutive_removed,
    Case.last_outcome,
    Case.last_check_at,
    Case.removal_verified_at,
    Case.first_notice_at,
    Case.needs_analyst,
    Case.analyst_reason,
)


def _last_removed(session: Session, rows: Sequence[Row[Any]]) -> dict[int, datetime]:
    """When each case in verification last had a ``removed`` outcome."""
    known = {
        row.id: row.last_check_at
        for row in rows
        if row.last_outcome is CheckOutcome.REMOVED and row.last_check_at is not None
    }
    # Inconclusive checks since: the time is in the checks table.
    asked = [row.id for row in rows if row.consecutive_removed > 0 and row.id not in known]
    if asked:
        found = session.execute(
            select(Check.case_id, func.max(Check.at))
            .where(Check.case_id.in_(asked), Check.outcome == CheckOutcome.REMOVED)
            .group_by(Check.case_id)
        )
        known.update({case_id: at for case_id, at in found})
    return known


def record_checks(
    session: Session,
    reports: Sequence[ProbeReport],
    *,
    policy: TrackingPolicy,
    flow_run_id: str | None = None,
    actor: str = ACTOR,
) -> RecheckSummary:
    """Store a Check for every report and move each case as :func:`decide` says; flushes.

    The tracking columns of the whole batch change in one bulk update; only the few cases
    that change status go through :func:`registry.cases.move_case` (and its event)."""
    summary = RecheckSummary()
    if not reports:
        return summary
    ids = sorted({r.case_id for r in reports})
    # Locked in id order, so two recorders never deadlock; trace or notify steps wait briefly.
    rows = session.execute(
        select(*_TRACKING_COLUMNS).where(Case.id.in_(ids)).order_by(Case.id).with_for_update()
    ).all()
    # The traced hosting matters only where content was served from a known address (is it
    # still the traced network?): read it for those cases alone.
    traced = traced_hosting(
        session,
        sorted({r.case_id for r in reports if r.outcome in CONTENT_SERVED and r.origin_address}),
    )
    last_removed = _last_removed(session, rows)
    states = {
        row.id: TrackingState(
            status=row.status,
            consecutive_removed=row.consecutive_removed,
            last_removed_at=last_removed.get(row.id),
            removal_verified_at=row.removal_verified_at,
            first_notice_at=row.first_notice_at,
            needs_analyst=row.needs_analyst,
            analyst_reason=row.analyst_reason,
            traced=traced.get(row.id, TracedHosting()),
        )
        for row in rows
    }
    checks = Check.__table__
    assert isinstance(checks, Table)
    insert_rows(session, checks, [_check_row(r, flow_run_id) for r in reports])
    updates: dict[int, dict[str, Any]] = {}
    moves: list[tuple[ProbeReport, Decision]] = []
    # Only a case reported twice in one batch needs its state carried to the next report.
    repeated = {case_id for case_id, n in Counter(r.case_id for r in reports).items() if n > 1}
    for report in sorted(reports, key=lambda r: (r.case_id, r.at)):
        summary.checked += 1
        summary.outcomes[report.outcome.value] += 1
        state = states.get(report.case_id)
        if state is None or state.status not in CHECKED_STATUSES:
            continue  # withdrawn or closed while it was probed: the check is kept, nothing moves
        seen = Observation(report.outcome, report.at, report.origin_address, report.error)
        decision = decide(state, seen, policy)
        if decision.needs_analyst and not state.needs_analyst:
            summary.needs_analyst += 1
        updates[report.case_id] = {
            "id": report.case_id,
            "last_check_at": report.at,
            "last_outcome": report.outcome,
            "consecutive_removed": decision.consecutive_removed,
            "next_check_at": decision.next_check_at,
            "needs_analyst": decision.needs_analyst,
            "analyst_reason": decision.analyst_reason,
            "updated_at": report.at,
        }
        if decision.transitions:
            moves.append((report, decision))
        if report.case_id not in repeated:
            continue
        # A second report of the same case in one batch sees the first one's effect.
        states[report.case_id] = replace(
            state,
            status=decision.final_status or state.status,
            consecutive_removed=decision.consecutive_removed,
            needs_analyst=decision.needs_analyst,
            analyst_reason=decision.analyst_reason,
            last_removed_at=report.at
            if report.outcome is CheckOutcome.REMOVED
            else state.last_removed_at,
        )
    write_tracking(session, list(updates.values()))
    for report, decision in moves:
        _move(session, report, decision, actor, flow_run_id, summary)
    session.flush()
    return summary


def _check_row(report: ProbeReport, flow_run_id: str | None) -> dict[str, Any]:
    return {
        "case_id": report.case_id,
        "at": report.at,
        "outcome": report.outcome,
        "http_status": report.http_status,
        "address": report.address,
        "sha256": report.sha256,
        "bytes_read": report.bytes_read,
        "error": (report.error or None) and report.error[:1000],
        "flow_run_id": flow_run_id,
    }


def _move(
    session: Session,
    report: ProbeReport,
    decision: Decision,
    actor: str,
    flow_run_id: str | None,
    summary: RecheckSummary,
) -> None:
    case = session.get(Case, report.case_id, populate_existing=True)
    assert case is not None  # locked above
    detail: dict[str, object] = {"outcome": report.outcome.value}
    if report.http_status is not None:
        detail["http_status"] = report.http_status
    if report.origin_address is not None:
        detail["address"] = report.origin_address
    for status in decision.transitions:
        move_case(
            session,
            case,
            status,
            actor=actor,
            reason=decision.reason,
            flow_run_id=flow_run_id,
            detail=detail,
            now=report.at,
        )
        if status is CaseStatus.REMOVED:
            # The watch for reappearance runs from the latest verification.
            case.removal_verified_at = report.at
            summary.removal_verified += 1
        elif status is CaseStatus.CLOSED:
            summary.closed += 1
    if decision.new_notice_round:
        case.notice_round += 1
        summary.reappeared += 1
    if decision.hosting_moved:
        summary.moved += 1
