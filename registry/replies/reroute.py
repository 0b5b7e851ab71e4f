"""Routing around a dead address: the bounced notice goes to the next contact in rank.

The dead address is already left out of the cases' facts (:mod:`registry.notifying.facts`), so
routing the case again at the bounced notice's moment picks the same party's next contact.
When that party has none left, the notice goes up the usual order: the registrar, then the
police partner (as the escalation ladder would address them). Nobody left: an analyst.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from notices.directory import Directory
from notices.kinds import Circumstance, NoticeKind, Role
from notices.mail.message import NoticeComposer
from notices.routing import PlannedNotice, plan_notices
from registry.base import table_of
from registry.bulk.writes import insert_ignoring_conflicts, insert_rows
from registry.models import Case, Notice, notice_cases
from registry.notifying.facts import FactsProblem, load_case_facts
from registry.notifying.plan import compose_rows

_MOMENT = {
    NoticeKind.REMINDER.value: Circumstance.REMINDER,
    NoticeKind.ESCALATION.value: Circumstance.ESCALATION,
}
_UP_THE_ORDER = (NoticeKind.REGISTRAR_SUSPENSION, NoticeKind.POLICE_REFERRAL)
_PARTNER_ROLES = frozenset({Role.HOTLINE.value, Role.POLICE.value})


@dataclass(frozen=True, slots=True)
class Rerouting:
    """What re-routing needs: the partner directory and a composer for the new notices."""

    directory: Directory
    composer: NoticeComposer


@dataclass(slots=True)
class Rerouted:
    """The notices queued instead of a bounced one, to whom, and what could not be done."""

    notice_ids: list[int] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _cases(session: Session, notice_id: int) -> list[Case]:
    ids = select(notice_cases.c.case_id).where(notice_cases.c.notice_id == notice_id)
    return list(
        session.scalars(select(Case).where(Case.id.in_(ids), Case.is_open).order_by(Case.id))
    )


def _replacements(
    bounced: Notice, cases: Sequence[Case], session: Session, directory: Directory
) -> tuple[list[PlannedNotice], list[str]]:
    facts = load_case_facts(session, cases)
    moment = _MOMENT.get(bounced.kind, Circumstance.FIRST_ROUND)
    dead = bounced.recipient_email.lower()
    wanted: list[PlannedNotice] = []
    problems: list[str] = []
    for case in cases:
        found = facts[case.id]
        if isinstance(found, FactsProblem):
            problems.append(found.reason)
            continue
        same = [
            n
            for n in plan_notices(found, directory, moment).notices
            if n.role.value == bounced.recipient_role and n.kind.value == bounced.kind
        ]
        if not same:
            # The party has no live contact left: up the order, as an escalation addresses it.
            escalation = plan_notices(found, directory, Circumstance.ESCALATION).notices
            for kind in _UP_THE_ORDER:
                same = [n for n in escalation if n.kind is kind]
                if same:
                    break
        same = [n for n in same if n.recipient_address.lower() != dead]
        if not same:
            problems.append(f"{case.reference}: no live contact left after {dead}")
        wanted.extend(same)
    return wanted, problems


def reroute(session: Session, bounced: Notice, rerouting: Rerouting, now: datetime) -> Rerouted:
    """Queue the notice ``bounced`` should have been, for its still-open cases. Flushes."""
    outcome = Rerouted()
    if bounced.recipient_role in _PARTNER_ROLES:
        outcome.problems.append(
            f"the partner address {bounced.recipient_email} bounced: fix the partner directory"
        )
        return outcome
    cases = _cases(session, bounced.id)
    if not cases:
        return outcome
    planned, outcome.problems = _replacements(bounced, cases, session, rerouting.directory)
    if not planned:
        return outcome
    problems: dict[int, list[str]] = {case.id: [] for case in cases}

    def key_for(notice: PlannedNotice, _round: int) -> str:
        parts = [
            "reroute",
            str(bounced.id),
            notice.kind.value,
            notice.recipient_address.lower(),
            *(str(c) for c in sorted(notice.case_ids)),
        ]
        return f"{notice.kind.value}:{hashlib.sha256(chr(10).join(parts).encode()).hexdigest()}"

    rows = compose_rows(
        {bounced.round: planned},
        problems,
        rerouting.directory,
        rerouting.composer,
        now,
        key_for=key_for,
        honour_hold=False,
    )
    outcome.problems += [p for found in problems.values() for p in found]
    created = insert_ignoring_conflicts(
        session,
        table_of(Notice),
        [row for row, _ in rows],
        conflict_columns=["dedupe_key"],
        returning=["id", "dedupe_key"],
    )
    ids = {str(key): int(notice_id) for notice_id, key in created}
    links = []
    for row, notice in rows:
        notice_id = ids.get(str(row["dedupe_key"]))
        if notice_id is None:
            continue  # queued already by an earlier reading of the same bounce
        outcome.notice_ids.append(notice_id)
        outcome.recipients.append(str(row["recipient_email"]))
        links += [{"notice_id": notice_id, "case_id": case_id} for case_id in notice.case_ids]
    insert_rows(session, notice_cases, links)
    session.flush()
    return outcome
