"""Which case a message is about: the Message-IDs of our notices it answers or returns first,
then a case reference, an X-ARF report id, and last a URL of an open case."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from notices.inbound import MatchKeys
from registry.models import Case, Notice, notice_cases


@dataclass(frozen=True, slots=True)
class CaseMatch:
    """The cases a message concerns (the first is its case), the notice it answers, and how
    the match was made."""

    case_ids: tuple[int, ...]
    notice_id: int | None
    how: str

    @property
    def case_id(self) -> int | None:
        return self.case_ids[0] if self.case_ids else None


NO_MATCH = CaseMatch((), None, "")


def _cases_of_notice(session: Session, notice_id: int) -> list[int]:
    return list(
        session.scalars(
            select(notice_cases.c.case_id)
            .where(notice_cases.c.notice_id == notice_id)
            .order_by(notice_cases.c.case_id)
        )
    )


def _first_referenced(case_ids: Sequence[int], referenced: Sequence[int]) -> list[int]:
    """The notice's cases, the one the message names first (a grouped notice covers many)."""
    named = [c for c in referenced if c in case_ids]
    return list(dict.fromkeys([*named[:1], *case_ids]))


def _by_notice(session: Session, keys: MatchKeys) -> CaseMatch | None:
    if not keys.message_ids:
        return None
    query = select(Notice.message_id, Notice.id).where(Notice.message_id.in_(keys.message_ids))
    rows = {message_id: notice_id for message_id, notice_id in session.execute(query)}
    for message_id in keys.message_ids:  # in-reply-to first, then the newest reference
        notice_id = rows.get(message_id)
        if notice_id is not None:
            cases = _first_referenced(_cases_of_notice(session, notice_id), keys.case_ids)
            if cases:
                return CaseMatch(tuple(cases), notice_id, "message_id")
    return None


def _by_reference(session: Session, keys: MatchKeys) -> CaseMatch | None:
    if not keys.case_ids:
        return None
    known = set(session.scalars(select(Case.id).where(Case.id.in_(keys.case_ids))))
    found = [c for c in keys.case_ids if c in known]
    return CaseMatch(tuple(found), None, "reference") if found else None


def _by_report_id(session: Session, keys: MatchKeys) -> CaseMatch | None:
    if not keys.report_ids:
        return None
    condition = or_(*(Notice.xarf_json.contains(f'"{r}"') for r in keys.report_ids[:5]))
    notice_id = session.scalars(select(Notice.id).where(condition).order_by(Notice.id)).first()
    if notice_id is None:
        return None
    cases = _cases_of_notice(session, notice_id)
    return CaseMatch(tuple(cases), notice_id, "xarf_report_id") if cases else None


def _by_url(session: Session, keys: MatchKeys) -> CaseMatch | None:
    if not keys.urls:
        return None
    digests = [hashlib.sha256(u.encode()).hexdigest() for u in keys.urls]
    found = list(
        session.scalars(
            select(Case.id).where(Case.is_open, Case.url_sha256.in_(digests)).order_by(Case.id)
        )
    )
    return CaseMatch(tuple(found), None, "url") if found else None


def match_case(session: Session, keys: MatchKeys) -> CaseMatch:
    """The case a message with these clues concerns, or :data:`NO_MATCH`."""
    for way in (_by_notice, _by_reference, _by_report_id, _by_url):
        found = way(session, keys)
        if found is not None:
            return found
    return NO_MATCH
