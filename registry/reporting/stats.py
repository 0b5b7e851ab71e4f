"""Takedown statistics: how many cases and notices, and how fast content comes down.

Counts and group-bys run in the database. Percentiles need every value, so the three instants
they rest on are streamed (only those columns, in batches) and the durations computed here; the
method is in :mod:`registry.reporting.figures`.

Which cases count: those confirmed on or after ``since`` (all cases without it). Which notices:
those created on or after ``since``. The two times:
- *time to first notice*: ``Case.confirmed_at`` → ``Case.first_notice_at``, over cases notified;
- *time to removal*: ``Case.first_notice_at`` → ``Case.removal_verified_at``, over cases that had
  a notice and whose removal was verified (content gone before any notice has no such time).
The hosting provider is the host organisation's name, else the traced hosting network.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, distinct, func, select, true
from sqlalchemy import case as when
from sqlalchemy.orm import InstrumentedAttribute, Session

from registry.base import utcnow
from registry.models import Case, CaseEvent, Notice, Organisation
from registry.reporting.figures import (
    EMPTY_DURATION,
    DurationFigures,
    GroupFigures,
    NoticeCount,
    Reappearance,
    RecipientCount,
    TakedownStats,
)
from registry.status import CaseStatus, NoticeStatus

AWAITING_REMOVAL = (CaseStatus.NOTIFIED, CaseStatus.MOVED, CaseStatus.REAPPEARED)
"""Statuses of a case whose host was told and whose content is up now."""

STREAM_BATCH_ROWS = 10_000
"""Rows fetched per round trip when streaming the instants (a server-side cursor on PostgreSQL)."""


@dataclass(frozen=True, slots=True)
class SlowestRanking:
    """How the slowest providers are picked: by median time to removal, among providers with
    at least ``min_removals`` verified removals (fewer say little), the ``limit`` slowest."""

    limit: int = 10
    min_removals: int = 3


_PROVIDER = func.coalesce(Organisation.name, Case.hosting_network)


@dataclass(slots=True)
class _Counts:
    cases: int = 0
    notified: int = 0
    removed: int = 0
    awaiting: int = 0


@dataclass(slots=True)
class _Durations:
    to_notice: list[float]
    to_removal: list[float]


def compute_stats(
    session: Session,
    *,
    since: datetime | None = None,
    now: datetime | None = None,
    ranking: SlowestRanking = SlowestRanking(),
) -> TakedownStats:
    """The figures for cases confirmed (and notices created) on or after ``since``.

    An empty database gives zero counts and ``None`` percentiles, never an error.
    """
    cohort: ColumnElement[bool] = Case.confirmed_at >= since if since else true()
    by_country_counts = _group_counts(session, Case.hosting_country, cohort)
    by_provider_counts = _group_counts(session, _PROVIDER, cohort)
    overall_counts = _Counts()
    for counts in by_country_counts.values():
        overall_counts.cases += counts.cases
        overall_counts.notified += counts.notified
        overall_counts.removed += counts.removed
        overall_counts.awaiting += counts.awaiting

    overall = _Durations([], [])
    by_country: dict[str | None, _Durations] = defaultdict(lambda: _Durations([], []))
    by_provider: dict[str | None, _Durations] = defaultdict(lambda: _Durations([], []))
    for confirmed, first_notice, removed, country, provider in _instants(session, cohort):
        to_notice = (first_notice - confirmed).total_seconds()
        for bucket in (overall, by_country[country], by_provider[provider]):
            bucket.to_notice.append(to_notice)
        if removed is not None:
            to_removal = (removed - first_notice).total_seconds()
            for bucket in (overall, by_country[country], by_provider[provider]):
                bucket.to_removal.append(to_removal)

    countries = _groups(by_country_counts, by_country)
    providers = _groups(by_provider_counts, by_provider)
    slowest = sorted(
        (p for p in providers if p.to_removal.count >= ranking.min_removals),
        key=lambda p: (-(p.to_removal.median_seconds or 0.0), p.name or ""),
    )[: ranking.limit]
    return TakedownStats(
        since=since,
        generated_at=now or utcnow(),
        cases_by_state=_cases_by_state(session, cohort),
        notices_by_status=_notices_by_status(session, since),
        notices_by_kind=_notices_by_kind(session, since),
        notices_by_recipient=_notices_by_recipient(session, since),
        overall=_group(None, overall_counts, overall),
        by_country=countries,
        by_provider=providers,
        slowest_providers=slowest,
        reappearance=_reappearance(session, cohort, overall_counts.removed),
        removal_seconds_by_country={
            country: sorted(durations.to_removal)
            for country, durations in by_country.items()
            if durations.to_removal
        },
    )


def _group_counts(
    session: Session,
    key: ColumnElement[Any] | InstrumentedAttribute[Any],
    cohort: ColumnElement[bool],
) -> dict[str | None, _Counts]:
    awaiting = when(
        (Case.status.in_(AWAITING_REMOVAL) & Case.first_notice_at.is_not(None), 1), else_=0
    )
    query = (
        select(
            key,
            func.count(),
            func.count(Case.first_notice_at),
            func.count(Case.removal_verified_at),
            func.sum(awaiting),
        )
        .select_from(Case)
        .outerjoin(Organisation, Organisation.id == Case.host_organisation_id)
        .where(cohort)
        .group_by(key)
    )
    return {
        name: _Counts(int(cases), int(notified), int(removed), int(waiting or 0))
        for name, cases, notified, removed, waiting in session.execute(query)
    }


def _instants(
    session: Session, cohort: ColumnElement[bool]
) -> Iterable[tuple[datetime, datetime, datetime | None, str | None, str | None]]:
    """Streams the three instants, country and provider of every notified case."""
    query: Select[tuple[datetime, datetime | None, datetime | None, str | None, Any]] = (
        select(
            Case.confirmed_at,
            Case.first_notice_at,
            Case.removal_verified_at,
            Case.hosting_country,
            _PROVIDER,
        )
        .outerjoin(Organisation, Organisation.id == Case.host_organisation_id)
        .where(cohort, Case.first_notice_at.is_not(None))
        .execution_options(yield_per=STREAM_BATCH_ROWS)
    )
    for confirmed, first_notice, removed, country, provider in session.execute(query):
        assert first_notice is not None  # filtered in the query
        yield confirmed, first_notice, removed, country, provider


def _group(name: str | None, counts: _Counts, durations: _Durations | None) -> GroupFigures:
    return GroupFigures(
        name=name,
        cases=counts.cases,
        notified=counts.notified,
        removed=counts.removed,
        awaiting_removal=counts.awaiting,
        to_first_notice=DurationFigures.of(durations.to_notice) if durations else EMPTY_DURATION,
        to_removal=DurationFigures.of(durations.to_removal) if durations else EMPTY_DURATION,
    )


def _groups(
    counts: dict[str | None, _Counts], durations: dict[str | None, _Durations]
) -> list[GroupFigures]:
    """One entry per group, the biggest first; the unknown group (None) last among equals."""
    groups = [_group(name, count, durations.get(name)) for name, count in counts.items()]
    return sorted(groups, key=lambda g: (-g.cases, g.name is None, g.name or ""))


def _cases_by_state(session: Session, cohort: ColumnElement[bool]) -> dict[str, int]:
    counts = {status.value: 0 for status in CaseStatus}
    query = select(Case.status, func.count()).where(cohort).group_by(Case.status)
    for status, count in session.execute(query):
        counts[CaseStatus(status).value] = int(count)
    return counts


def _notice_window(since: datetime | None) -> ColumnElement[bool]:
    return Notice.created_at >= since if since else true()


_SENT = func.sum(when((Notice.status == NoticeStatus.SENT, 1), else_=0))


def _notices_by_status(session: Session, since: datetime | None) -> dict[str, int]:
    counts = {status.value: 0 for status in NoticeStatus}
    query = select(Notice.status, func.count()).where(_notice_window(since)).group_by(Notice.status)
    for status, count in session.execute(query):
        counts[NoticeStatus(status).value] = int(count)
    return counts


def _notices_by_kind(session: Session, since: datetime | None) -> dict[str, NoticeCount]:
    query = (
        select(Notice.kind, func.count(), _SENT)
        .where(_notice_window(since))
        .group_by(Notice.kind)
        .order_by(func.count().desc(), Notice.kind)
    )
    return {
        kind: NoticeCount(int(total), int(sent or 0))
        for kind, total, sent in session.execute(query)
    }


def _notices_by_recipient(session: Session, since: datetime | None) -> list[RecipientCount]:
    query = (
        select(
            Notice.recipient_role,
            Notice.recipient_email,
            func.max(Notice.recipient_name),
            func.count(),
            _SENT,
        )
        .where(_notice_window(since))
        .group_by(Notice.recipient_role, Notice.recipient_email)
        .order_by(func.count().desc(), Notice.recipient_email, Notice.recipient_role)
    )
    return [
        RecipientCount(role, email, name, NoticeCount(int(total), int(sent or 0)))
        for role, email, name, total, sent in session.execute(query)
    ]


def _reappearance(session: Session, cohort: ColumnElement[bool], removed: int) -> Reappearance:
    query = (
        select(func.count(distinct(CaseEvent.case_id)))
        .join(Case, Case.id == CaseEvent.case_id)
        .where(cohort, CaseEvent.to_status == CaseStatus.REAPPEARED)
    )
    return Reappearance(removed=removed, reappeared=int(session.scalar(query) or 0))
