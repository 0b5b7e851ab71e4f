"""Reading cases and moving them through their lifecycle, with an event for every step."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from registry.base import utcnow
from registry.lifecycle import check_transition
from registry.models import Case, CaseEvent, Report
from registry.status import CaseStatus, EventKind

# The instant columns that the statistics read, stamped on the first entry into a status.
_FIRST_ENTERED = {
    CaseStatus.TRACED: "traced_at",
    CaseStatus.REMOVED: "removal_verified_at",
    CaseStatus.CLOSED: "closed_at",
    CaseStatus.WITHDRAWN: "closed_at",
}


class CaseNotFound(LookupError):
    """No case has the id asked for."""


def move_case(
    session: Session,
    case: Case,
    to: CaseStatus,
    *,
    actor: str,
    reason: str,
    flow_run_id: str | None = None,
    detail: dict[str, object] | None = None,
    now: datetime | None = None,
) -> CaseEvent:
    """Move ``case`` to ``to`` if the lifecycle allows it, and record who did it and why.

    Raises :class:`registry.lifecycle.IllegalTransition` otherwise; nothing is changed then.
    """
    now = now or utcnow()
    previous = case.status
    check_transition(previous, to)
    case.status = to
    case.is_open = to.is_open
    stamp = _FIRST_ENTERED.get(to)
    if stamp and getattr(case, stamp) is None:
        setattr(case, stamp, now)
    event = CaseEvent(
        case_id=case.id,
        at=now,
        kind=EventKind.TRANSITION,
        from_status=previous,
        to_status=to,
        actor=actor,
        reason=reason,
        flow_run_id=flow_run_id,
        detail=detail,
    )
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True, slots=True)
class CaseSummary:
    id: int
    url: str
    display_url: str
    status: CaseStatus
    reports: list[str]
    opened_at: datetime

    def to_json(self) -> dict[str, Any]:
        """The shape of one element of ``takedown cases --json`` (an external contract)."""
        return {
            "id": self.id,
            "url": self.url,
            "display_url": self.display_url,
            "status": self.status.value,
            "reports": self.reports,
            "opened_at": self.opened_at.isoformat(),
        }


def list_cases(
    session: Session,
    *,
    statuses: Sequence[CaseStatus] = (),
    limit: int | None = None,
    after_id: int = 0,
) -> list[CaseSummary]:
    """Cases in id order (keyset paging from ``after_id``), each with its report ids."""
    query = select(Case.id, Case.url, Case.display_url, Case.status, Case.opened_at).where(
        Case.id > after_id
    )
    if statuses:
        query = query.where(Case.status.in_(statuses))
    query = query.order_by(Case.id)
    if limit is not None:
        query = query.limit(limit)
    rows = session.execute(query).all()
    reports: dict[int, list[str]] = defaultdict(list)
    ids = [row.id for row in rows]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for case_id, report_id in session.execute(
            select(Report.case_id, Report.report_id)
            .where(Report.case_id.in_(chunk))
            .order_by(Report.id)
        ):
            reports[case_id].append(report_id)
    return [
        CaseSummary(row.id, row.url, row.display_url, row.status, reports[row.id], row.opened_at)
        for row in rows
    ]


def get_case(session: Session, case_id: int) -> Case:
    """The case with its reports and events loaded, or :class:`CaseNotFound`."""
    case = session.scalar(
        select(Case)
        .where(Case.id == case_id)
        .options(selectinload(Case.reports), selectinload(Case.events))
    )
    if case is None:
        raise CaseNotFound(f"there is no case {case_id}")
    return case
