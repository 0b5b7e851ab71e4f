"""The dashboard's figures: cases by state and the median times to verified removal."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.models import Case
from registry.status import CaseStatus


@dataclass(frozen=True, slots=True)
class Dashboard:
    by_status: dict[str, int]
    total: int
    open: int
    """Open cases still being worked on: verified removals are counted in ``watched``."""
    watched: int
    """Removal verified, still watched for reappearance (open until closed)."""
    needs_analyst: int
    removed: int
    median_notice_to_removal_hours: float | None
    median_confirmation_to_removal_hours: float | None


def dashboard(session: Session) -> Dashboard:
    """Counts by status and the median times to verified removal, in hours."""
    counts = {
        status.value: count
        for status, count in session.execute(
            select(Case.status, func.count()).group_by(Case.status)
        ).tuples()
    }
    by_status = {status.value: counts.get(status.value, 0) for status in CaseStatus}
    needs_analyst = session.scalar(
        select(func.count()).select_from(Case).where(Case.needs_analyst, Case.is_open)
    )
    notice_spans: list[float] = []
    confirmation_spans: list[float] = []
    for confirmed, first_notice, removed in session.execute(
        select(Case.confirmed_at, Case.first_notice_at, Case.removal_verified_at).where(
            Case.removal_verified_at.is_not(None)
        )
    ).tuples():
        assert removed is not None
        confirmation_spans.append((removed - confirmed).total_seconds() / 3600)
        if first_notice is not None:
            notice_spans.append((removed - first_notice).total_seconds() / 3600)
    watched = by_status[CaseStatus.REMOVED.value]
    open_count = sum(by_status[s.value] for s in CaseStatus.open_statuses()) - watched
    return Dashboard(
        by_status=by_status,
        total=sum(by_status.values()),
        open=open_count,
        watched=watched,
        needs_analyst=needs_analyst or 0,
        removed=len(confirmation_spans),
        median_notice_to_removal_hours=statistics.median(notice_spans) if notice_spans else None,
        median_confirmation_to_removal_hours=(
            statistics.median(confirmation_spans) if confirmation_spans else None
        ),
    )
