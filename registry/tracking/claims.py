"""What a recheck reads before probing: the cases that are due, claimed, and what to probe.

Several workers may recheck at once (more flows, more machines). A claim is one statement that
pushes the claimed cases' ``next_check_at`` forward by the policy's lease and returns their ids
(or, for the recheck itself, their URLs and confirmed digests);
on PostgreSQL its inner select locks ``FOR UPDATE SKIP LOCKED``, so concurrent claims take
disjoint cases; SQLite runs the one statement alone. The caller commits the claim before
probing, so no case is probed twice in one cycle, and a worker that dies frees its cases when
the lease runs out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session

from registry.base import utcnow
from registry.models import Case, Resolution
from registry.status import RECHECKED_STATUSES
from registry.tracking.decide import TracedHosting, TrackingPolicy


@dataclass(frozen=True, slots=True)
class RecheckTarget:
    """What the probe needs for one claimed case."""

    case_id: int
    url: str
    expected_sha256: str | None


def due_cases(now: datetime, limit: int) -> Select[tuple[int]]:
    """The ids of up to ``limit`` rechecked cases due at ``now``, most overdue first (never
    scheduled counts as most overdue). Written to match the partial index
    ``ix_cases_recheck_due`` on PostgreSQL."""
    return (
        select(Case.id)
        .where(
            Case.status.in_(RECHECKED_STATUSES),
            or_(Case.next_check_at.is_(None), Case.next_check_at <= now),
        )
        .order_by(Case.next_check_at.asc().nulls_first(), Case.id)
        .limit(limit)
    )


def count_due(session: Session, now: datetime) -> int:
    """How many cases are due for a recheck now (for progress; claims may find fewer)."""
    due = due_cases(now, limit=1).order_by(None).limit(None).subquery()
    return int(session.scalar(select(func.count()).select_from(due)) or 0)


def claim_due_cases(
    session: Session, *, policy: TrackingPolicy, limit: int, now: datetime | None = None
) -> list[int]:
    """Claim up to ``limit`` cases whose next check is due (never scheduled counts as due).

    Their ``next_check_at`` moves to ``now + policy.claim_lease``; commit before probing.
    """
    now = now or utcnow()
    due = due_cases(now, limit).with_for_update(skip_locked=True)
    claim = (
        update(Case)
        .where(Case.id.in_(due.scalar_subquery()))
        .values(next_check_at=now + policy.claim_lease)
        .returning(Case.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(session.scalars(claim))


def claim_due_targets(
    session: Session, *, policy: TrackingPolicy, limit: int, now: datetime | None = None
) -> list[RecheckTarget]:
    """:func:`claim_due_cases`, returning what the probe needs of each claimed case (its URL
    and confirmed digest) from the claiming statement itself, in id order: no second read."""
    now = now or utcnow()
    due = due_cases(now, limit).with_for_update(skip_locked=True)
    claim = (
        update(Case)
        .where(Case.id.in_(due.scalar_subquery()))
        .values(next_check_at=now + policy.claim_lease)
        .returning(Case.id, Case.url, Case.content_sha256)
        .execution_options(synchronize_session=False)
    )
    rows = session.execute(claim).all()
    return sorted((RecheckTarget(row[0], row[1], row[2]) for row in rows), key=_case_id)


def _case_id(target: RecheckTarget) -> int:
    return target.case_id


def load_targets(session: Session, case_ids: Sequence[int]) -> list[RecheckTarget]:
    """The URL and confirmed digest of each case, in id order."""
    rows = session.execute(
        select(Case.id, Case.url, Case.content_sha256)
        .where(Case.id.in_(case_ids))
        .order_by(Case.id)
    )
    return [RecheckTarget(row.id, row.url, row.content_sha256) for row in rows]


def traced_hosting(session: Session, case_ids: Sequence[int]) -> dict[int, TracedHosting]:
    """The network prefix and addresses of each case's latest successful trace."""
    if not case_ids:
        return {}
    latest = (
        select(func.max(Resolution.id))
        .where(Resolution.case_id.in_(case_ids), Resolution.ok.is_(True))
        .group_by(Resolution.case_id)
    )
    rows = session.execute(
        select(
            Resolution.case_id,
            # As text: one JSON document fewer for the driver to decode per case. A prefix
            # that is not a JSON string comes back as other text, which no network parses,
            # so it covers nothing, exactly as the None it used to become.
            Resolution.result[("network", "prefix")].as_string(),
            Resolution.result["ips"],
        ).where(Resolution.id.in_(latest.scalar_subquery()))
    )
    found: dict[int, TracedHosting] = {}
    for case_id, prefix, ips in rows:
        addresses = tuple(str(ip) for ip in ips) if isinstance(ips, list) else ()
        found[case_id] = TracedHosting(prefix if isinstance(prefix, str) else None, addresses)
    return found
