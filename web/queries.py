"""The reads behind the pages and the API: case lists, one case, the dashboard figures.

Every case read goes through :func:`visible_cases` or :func:`visible_case`, which apply the
one rule of least privilege: analysts see every case, liaison officers only those referred to
their agency, everyone else none.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from registry.base import utcnow
from registry.cases import CaseNotFound
from registry.models import (
    Case,
    CaseEvent,
    Check,
    Contact,
    Evidence,
    Notice,
    Organisation,
    Resolution,
    notice_cases,
)
from registry.referrals import referred_to
from registry.status import CaseStatus
from registry.users import Principal, Role


class Forbidden(Exception):
    """The signed-in user's role may not do this."""


class Age(StrEnum):
    """Age filters of the case list, by when the case was opened."""

    ANY = ""
    DAY = "1d"
    WEEK = "7d"
    MONTH = "30d"
    OVER_WEEK = "older-7d"
    OVER_MONTH = "older-30d"


_AGE_BOUNDS: dict[Age, tuple[str, timedelta]] = {
    Age.DAY: ("newer", timedelta(days=1)),
    Age.WEEK: ("newer", timedelta(days=7)),
    Age.MONTH: ("newer", timedelta(days=30)),
    Age.OVER_WEEK: ("older", timedelta(days=7)),
    Age.OVER_MONTH: ("older", timedelta(days=30)),
}


@dataclass(frozen=True, slots=True)
class CaseFilter:
    status: CaseStatus | None = None
    country: str | None = None
    host: str | None = None
    age: Age = Age.ANY


@dataclass(frozen=True, slots=True)
class CaseRow:
    id: int
    reference: str
    url: str
    display_url: str
    status: CaseStatus
    host: str
    hosting_country: str | None
    escalation_level: int
    opened_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "reference": self.reference,
            "url": self.url,
            "display_url": self.display_url,
            "status": self.status.value,
            "host": self.host,
            "hosting_country": self.hosting_country,
            "escalation_level": self.escalation_level,
            "opened_at": self.opened_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class CasePage:
    rows: list[CaseRow]
    next_before: int | None
    """Pass as ``before`` for the next (older) page; None on the last page."""


def visible_cases(user: Principal) -> Select[tuple[Case]]:
    """A select of the cases ``user`` may see; raises :class:`Forbidden` for other roles."""
    query = select(Case)
    if user.role is Role.ANALYST:
        return query
    if user.role is Role.LIAISON and user.agency:
        return query.where(referred_to(user.agency))
    raise Forbidden("your role does not give access to cases")


def visible_case(session: Session, user: Principal, case_id: int) -> Case:
    """The case if ``user`` may see it; :class:`CaseNotFound` otherwise (no hint it exists)."""
    case = session.scalar(visible_cases(user).where(Case.id == case_id))
    if case is None:
        raise CaseNotFound(f"there is no case {case_id}")
    return case


def list_cases(
    session: Session,
    user: Principal,
    filters: CaseFilter,
    *,
    before: int | None = None,
    limit: int = 50,
    now: datetime | None = None,
) -> CasePage:
    """Newest cases first, keyset-paged by id (``before``): as fast on page 2,000 as on page 1."""
    now = now or utcnow()
    visible = visible_cases(user).whereclause
    query = select(
        Case.id,
        Case.url,
        Case.display_url,
        Case.status,
        Case.host,
        Case.hosting_country,
        Case.escalation_level,
        Case.opened_at,
    )
    if visible is not None:
        query = query.where(visible)
    if filters.status is not None:
        query = query.where(Case.status == filters.status)
    if filters.country:
        query = query.where(Case.hosting_country == filters.country.upper())
    if filters.host:
        query = query.where(Case.host == filters.host.lower())
    if filters.age is not Age.ANY:
        direction, span = _AGE_BOUNDS[filters.age]
        bound = now - span
        query = query.where(
            Case.opened_at >= bound if direction == "newer" else Case.opened_at < bound
        )
    if before is not None:
        query = query.where(Case.id < before)
    rows = session.execute(query.order_by(Case.id.desc()).limit(limit + 1)).all()
    cases = [
        CaseRow(
            r.id,
            f"TD-{r.id:06d}",
            r.url,
            r.display_url,
            r.status,
            r.host,
            r.hosting_country,
            r.escalation_level,
            r.opened_at,
        )
        for r in rows[:limit]
    ]
    next_before = cases[-1].id if len(rows) > limit else None
    return CasePage(cases, next_before)


@dataclass(frozen=True, slots=True)
class CaseDetail:
    case: Case
    events: Sequence[CaseEvent]
    checks: Sequence[Check]
    notices: Sequence[Notice]
    resolutions: Sequence[Resolution]
    evidence: dict[int, list[Evidence]]
    contacts: dict[str, tuple[Organisation, list[Contact]]]
    """Per role (host, registrar, cdn): the organisation and its ranked contacts."""


def case_detail(session: Session, user: Principal, case_id: int) -> CaseDetail:
    """Everything the case page shows, for a case ``user`` may see."""
    case = visible_case(session, user, case_id)
    events = session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
    ).all()
    checks = session.scalars(
        select(Check).where(Check.case_id == case_id).order_by(Check.at.desc()).limit(200)
    ).all()
    notices = session.scalars(
        select(Notice)
        .join(notice_cases, notice_cases.c.notice_id == Notice.id)
        .where(notice_cases.c.case_id == case_id)
        .order_by(Notice.id)
    ).all()
    resolutions = session.scalars(
        select(Resolution).where(Resolution.case_id == case_id).order_by(Resolution.id.desc())
    ).all()
    evidence: dict[int, list[Evidence]] = {}
    if resolutions:
        for item in session.scalars(
            select(Evidence)
            .where(Evidence.resolution_id.in_([r.id for r in resolutions]))
            .order_by(Evidence.id)
        ):
            evidence.setdefault(item.resolution_id, []).append(item)
    return CaseDetail(
        case, events, checks, notices, resolutions, evidence, case_contacts(session, case)
    )


def case_contacts(session: Session, case: Case) -> dict[str, tuple[Organisation, list[Contact]]]:
    found: dict[str, tuple[Organisation, list[Contact]]] = {}
    for role, org_id in (
        ("host", case.host_organisation_id),
        ("registrar", case.registrar_organisation_id),
        ("cdn", case.cdn_organisation_id),
    ):
        if org_id is None:
            continue
        organisation = session.get(Organisation, org_id)
        if organisation is None:
            continue
        contacts = session.scalars(
            select(Contact)
            .where(Contact.organisation_id == org_id)
            .order_by(Contact.rank, Contact.id)
        ).all()
        found[role] = (organisation, list(contacts))
    return found


@dataclass(frozen=True, slots=True)
class Dashboard:
    by_status: dict[str, int]
    total: int
    open: int
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
    open_count = sum(by_status[s.value] for s in CaseStatus.open_statuses())
    return Dashboard(
        by_status=by_status,
        total=sum(by_status.values()),
        open=open_count,
        needs_analyst=needs_analyst or 0,
        removed=len(confirmation_spans),
        median_notice_to_removal_hours=statistics.median(notice_spans) if notice_spans else None,
        median_confirmation_to_removal_hours=(
            statistics.median(confirmation_spans) if confirmation_spans else None
        ),
    )
