"""The reads behind the pages and the API: case lists, one case, the dashboard figures.

Every case read goes through :func:`visible_cases` or :func:`visible_case`, which apply the
one rule of least privilege: analysts see every case, liaison officers only those referred to
their agency, everyone else none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from notices.inbound.keys import defang_text
from registry.base import utcnow
from registry.cases import CaseNotFound
from registry.models import (
    Case,
    CaseEvent,
    Check,
    Contact,
    Evidence,
    InboundMail,
    Notice,
    Organisation,
    Resolution,
    case_reference,
    notice_cases,
)
from registry.referrals import addressed_to, referred_to
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
    sparse = False
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
        admitted = Case.opened_at >= bound if direction == "newer" else Case.opened_at < bound
        query = query.where(admitted)
        sparse = _few(session, admitted)
    # Walking ids down from the newest would read every case to find a few that an age bound
    # admits (an "older than a week" filter when every case is recent, a "last day" filter on
    # a quiet day). Paging on ``id + 0``, which no index provides, makes the database fetch
    # those few through the opened_at index and sort them instead: SQLite's planner has no
    # statistics to see that by itself.
    key = Case.id + 0 if sparse else Case.id
    if before is not None:
        query = query.where(key < before)
    rows = session.execute(query.order_by(key.desc()).limit(limit + 1)).all()
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


SPARSE_AGE_ROWS = 2000
"""At most this many cases admitted by an age bound are fetched by age and sorted."""


def _few(session: Session, admitted: ColumnElement[bool]) -> bool:
    """Whether at most :data:`SPARSE_AGE_ROWS` cases satisfy ``admitted`` (an opened_at range).

    Counted through the opened_at index and stopped early, so it costs at most that many
    index entries however large the table is. The order by opened_at is what holds the planner
    to that index: without it, and without fresh statistics, PostgreSQL guessed that a third of
    the table matched and scanned it all to find that nothing did.
    """
    count = session.scalar(sparse_probe(admitted))
    return (count or 0) <= SPARSE_AGE_ROWS


def sparse_probe(admitted: ColumnElement[bool]) -> Select[tuple[int]]:
    """The count :func:`_few` reads: of the admitted cases, up to one more than the limit."""
    admitted_ids = (
        select(Case.id)
        .where(admitted)
        .order_by(Case.opened_at)
        .limit(SPARSE_AGE_ROWS + 1)
        .subquery()
    )
    return select(func.count()).select_from(admitted_ids)


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
    thread: Sequence[Correspondence] = ()
    """Notices sent and messages received, in order."""


@dataclass(frozen=True, slots=True)
class Correspondence:
    """One message of a case's correspondence, sent or received, as plain text.

    Received text is another party's: URLs in it are defanged here, and it is shown only as
    text; attachments are named, never offered or rendered.
    """

    at: datetime
    sent: bool
    party: str
    subject: str
    what: str
    """The notice's kind and status, or the class a received message was read as."""
    text: str = ""
    attachments: tuple[str, ...] = ()
    message_id: int | None = None
    """The received message's number (in the analyst queue), to mark it handled by."""


def correspondence(
    notices: Sequence[Notice], received: Sequence[InboundMail]
) -> list[Correspondence]:
    """The case's thread: its notices (sent, or queued) and the messages matched to it."""
    thread = [
        Correspondence(
            at=n.sent_at or n.created_at,
            sent=True,
            party=n.recipient_email,
            subject=defang_text(n.subject or ""),
            what=f"{n.kind} · {n.status.value}",
        )
        for n in notices
    ]
    for m in received:
        extra = [
            f"ticket {m.ticket}" if m.ticket else "",
            "says removed" if m.claims_removed else "",
        ]
        failed = ", ".join(m.failed_addresses or [])
        thread.append(
            Correspondence(
                at=m.received_at,
                sent=False,
                party=m.sender or "unknown sender",
                subject=defang_text(m.subject),
                what=" · ".join(
                    x for x in (m.kind.value, *extra, f"failed: {failed}" if failed else "") if x
                ),
                text=defang_text(m.reply_text),
                attachments=tuple(
                    f"{a.get('filename') or 'unnamed'} ({a.get('content_type')}, "
                    f"{a.get('size')} bytes)"
                    for a in (m.attachments or [])
                    if isinstance(a, dict)
                ),
            )
        )
    thread.sort(key=lambda entry: entry.at)
    return thread


def case_detail(
    session: Session, user: Principal, case_id: int, *, all_notices: bool = False
) -> CaseDetail:
    """Everything the case page shows, for a case ``user`` may see.

    A liaison officer gets only the notices addressed to their agency, unless ``all_notices``.
    """
    case = visible_case(session, user, case_id)
    events = session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
    ).all()
    checks = session.scalars(
        select(Check).where(Check.case_id == case_id).order_by(Check.at.desc()).limit(200)
    ).all()
    notices_query = (
        select(Notice)
        .join(notice_cases, notice_cases.c.notice_id == Notice.id)
        .where(notice_cases.c.case_id == case_id)
        .order_by(Notice.id)
    )
    if user.role is Role.LIAISON and not all_notices:
        notices_query = notices_query.where(addressed_to(user.agency or ""))
    notices = session.scalars(notices_query).all()
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
    received = session.scalars(
        select(InboundMail).where(InboundMail.case_id == case_id).order_by(InboundMail.id)
    ).all()
    return CaseDetail(
        case,
        events,
        checks,
        notices,
        resolutions,
        evidence,
        case_contacts(session, case),
        correspondence(notices, received),
    )


def inbox_queue(session: Session, limit: int = 50) -> list[Correspondence]:
    """Received messages waiting for an analyst (unmatched, or a person's reply), newest first,
    each with the reference of its case (or none) as its ``what``."""
    rows = session.scalars(
        select(InboundMail)
        .where(InboundMail.needs_analyst, InboundMail.handled_at.is_(None))
        .order_by(InboundMail.id.desc())
        .limit(limit)
    ).all()
    return [
        Correspondence(
            at=m.received_at,
            sent=False,
            party=m.sender or "unknown sender",
            subject=defang_text(m.subject),
            what=case_reference(m.case_id) if m.case_id is not None else "",
            text=defang_text(m.reply_text),
            message_id=m.id,
        )
        for m in rows
    ]


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


def case_thread(session: Session, case_id: int) -> list[Correspondence]:
    """Every notice of the case and every message matched to it, in order (for operators: no
    per-agency view applies)."""
    notices = session.scalars(
        select(Notice)
        .join(notice_cases, notice_cases.c.notice_id == Notice.id)
        .where(notice_cases.c.case_id == case_id)
        .order_by(Notice.id)
    ).all()
    received = session.scalars(
        select(InboundMail).where(InboundMail.case_id == case_id).order_by(InboundMail.id)
    ).all()
    return correspondence(notices, received)
