"""Claiming cases for a trace, safely with several workers on one database.

A claim is one ``WITH due AS (SELECT … LIMIT n FOR UPDATE SKIP LOCKED) UPDATE … RETURNING``
per status a case can be traced from: on PostgreSQL the sub-select skips rows another worker
holds; on SQLite (where ``FOR UPDATE`` does not exist) the statement is a write from its first
step, so the database's single writer lock makes it atomic. The claim moves each case to
``tracing`` and leases it: ``next_check_at`` becomes the end of the lease, and a case still in
``tracing`` after its lease (its worker died) is claimed again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from registry.base import table_of
from registry.bulk.writes import insert_rows
from registry.lifecycle import check_transition
from registry.models import Case, CaseEvent
from registry.status import CaseStatus, EventKind
from registry.tracing.cache import forget_dns


@dataclass(frozen=True, slots=True)
class TraceRetry:
    """How long a claim lasts, and when a failed trace is tried again."""

    lease: timedelta = timedelta(minutes=5)
    """A case in ``tracing`` longer than this is taken to be abandoned and claimed again."""
    first_delay: timedelta = timedelta(minutes=15)
    max_delay: timedelta = timedelta(hours=24)
    analyst_after: int = 6
    """After this many failed attempts the case is flagged for an analyst (and still retried)."""

    def next_attempt(self, attempts: int, now: datetime) -> datetime:
        """When to try again after the ``attempts``-th failure: the delay doubles each time."""
        exponent = min(max(attempts - 1, 0), 20)
        delay: timedelta = min(self.max_delay, self.first_delay * (2**exponent))
        return now + delay


@dataclass(frozen=True, slots=True)
class ClaimedCase:
    """A case this worker holds in ``tracing`` until ``lease_until``."""

    id: int
    url: str
    host: str
    registrable_domain: str | None
    attempts: int
    """Trace attempts including this one."""
    lease_until: datetime


# The statuses a trace starts from, in the order they are served.
TRACEABLE = (CaseStatus.NEW, CaseStatus.MOVED, CaseStatus.TRACE_FAILED, CaseStatus.TRACING)


def _due(status: CaseStatus, now: datetime) -> ColumnElement[bool]:
    if status in (CaseStatus.NEW, CaseStatus.MOVED):
        return Case.status == status
    # A failed trace waits for its next attempt; a trace in progress for the end of its lease.
    return (Case.status == status) & or_(Case.next_check_at.is_(None), Case.next_check_at <= now)


def count_due(session: Session, now: datetime) -> int:
    """How many cases a trace would take now (for progress; a claim may find fewer)."""
    due = or_(*(_due(status, now) for status in TRACEABLE))
    return int(session.scalar(select(func.count()).select_from(Case).where(due)) or 0)


def claim_cases(
    session: Session,
    *,
    limit: int,
    actor: str,
    now: datetime,
    retry: TraceRetry | None = None,
    flow_run_id: str | None = None,
    case_ids: Sequence[int] | None = None,
) -> list[ClaimedCase]:
    """Move up to ``limit`` due cases to ``tracing`` (only among ``case_ids`` when given),
    record an event for each, flush, and return them. The caller commits at once, so other
    workers see the claim before the slow part starts."""
    policy = retry or TraceRetry()
    lease_until = now + policy.lease
    claimed: list[ClaimedCase] = []
    events: list[dict[str, Any]] = []
    for status in TRACEABLE:
        remaining = limit - len(claimed)
        if remaining <= 0:
            break
        if status is not CaseStatus.TRACING:
            check_transition(status, CaseStatus.TRACING)
        due = select(Case.id).where(_due(status, now))
        if case_ids is not None:
            due = due.where(Case.id.in_(list(case_ids)))
        # A CTE, not a plain sub-select: PostgreSQL may run a sub-select once per row, and
        # each run would skip the rows the previous ones locked and pick more. A locking CTE
        # runs once.
        picked = due.order_by(Case.id).limit(remaining).with_for_update(skip_locked=True)
        chosen = picked.cte(f"due_{status.value}")
        rows = session.execute(
            update(Case)
            .where(Case.id.in_(select(chosen.c.id)), Case.status == status)
            .values(
                status=CaseStatus.TRACING,
                next_check_at=lease_until,
                trace_attempts=Case.trace_attempts + 1,
                updated_at=now,
            )
            .returning(Case.id, Case.url, Case.host, Case.registrable_domain, Case.trace_attempts),
            execution_options={"synchronize_session": False},
        ).all()
        for row in sorted(rows, key=lambda r: int(r.id)):
            claimed.append(
                ClaimedCase(
                    int(row.id),
                    row.url,
                    row.host,
                    row.registrable_domain,
                    int(row.trace_attempts),
                    lease_until,
                )
            )
            events.append(_claim_event(int(row.id), status, actor, flow_run_id, now))
        if status is CaseStatus.MOVED:
            # The cached answers led to the host the content left: trace from fresh ones.
            forget_dns(session, {row.host for row in rows})
    insert_rows(session, table_of(CaseEvent), events)
    session.flush()
    return claimed


def _claim_event(
    case_id: int, previous: CaseStatus, actor: str, flow_run_id: str | None, now: datetime
) -> dict[str, Any]:
    reclaim = previous is CaseStatus.TRACING
    return {
        "case_id": case_id,
        "at": now,
        "kind": EventKind.NOTE if reclaim else EventKind.TRANSITION,
        "from_status": None if reclaim else previous,
        "to_status": None if reclaim else CaseStatus.TRACING,
        "actor": actor,
        "reason": (
            "claimed again: the previous trace did not finish within its lease"
            if reclaim
            else "trace started"
        ),
        "flow_run_id": flow_run_id,
        "detail": None,
    }


def still_claimed(session: Session, claimed: Sequence[ClaimedCase], now: datetime) -> set[int]:
    """Of ``claimed``, the ids still in ``tracing`` under this worker's lease; locks them.

    A case an analyst withdrew meanwhile, or that another worker claimed after the lease ran
    out, is left alone. Being a write, this also takes SQLite's writer lock for the
    transaction, so what follows cannot meet a stale snapshot."""
    if not claimed:
        return set()
    held: set[int] = set()
    by_lease: dict[datetime, list[int]] = {}
    for case in claimed:
        by_lease.setdefault(case.lease_until, []).append(case.id)
    for lease_until, ids in by_lease.items():
        for start in range(0, len(ids), 1000):
            rows = session.execute(
                update(Case)
                .where(
                    Case.id.in_(ids[start : start + 1000]),
                    Case.status == CaseStatus.TRACING,
                    Case.next_check_at == lease_until,
                )
                .values(updated_at=now)
                .returning(Case.id),
                execution_options={"synchronize_session": False},
            )
            held.update(int(r[0]) for r in rows)
    return held
