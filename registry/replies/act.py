"""What each class of message does to its case; every step is a case event naming the message.

- a permanent bounce: the address is marked dead (no later case uses it) and the bounced notice
  is re-routed to the next contact in rank (:mod:`registry.replies.reroute`);
- an acknowledgement: the host's ticket number is kept on the case and quoted in reminders;
- a ``claims_removed`` hint: the case is due for a recheck now (only the probe verifies);
- a person's reply, or a message matching no case: an analyst's queue.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from notices.facts import clean_text
from notices.inbound import Classification, InboundClass
from registry import audit
from registry.base import table_of
from registry.bulk.writes import insert_ignoring_conflicts
from registry.models import Case, CaseEvent, DeadAddress, InboundMail, Notice, notice_cases
from registry.replies.match import CaseMatch
from registry.replies.reroute import Rerouting, reroute
from registry.status import RECHECKED_STATUSES, EventKind, NoticeStatus

MAX_REASON = 1000
MAX_CASES = 50
ANALYST_PREFIX = "reply: "


def mark_dead(
    session: Session, addresses: tuple[str, ...], mail: InboundMail, *, actor: str, now: datetime
) -> list[str]:
    """Mark the addresses dead; return those newly marked. Flushes."""
    rows = [
        {
            "email": address.lower(),
            "reason": clean_text(f"permanent bounce: {mail.why}", 500),
            "inbound_id": mail.id,
            "marked_at": now,
        }
        for address in addresses
    ]
    created = insert_ignoring_conflicts(
        session, table_of(DeadAddress), rows, conflict_columns=["email"], returning=["email"]
    )
    fresh = [str(row[0]) for row in created]
    for address in fresh:
        audit.record(
            session,
            actor=actor,
            action=audit.AuditAction.OVERRIDE,
            subject=f"address {address}",
            detail={"action": "marked_dead", "inbound_message": mail.id},
            now=now,
        )
    return fresh


def _bounced_notices(session: Session, match: CaseMatch, dead: tuple[str, ...]) -> list[Notice]:
    """The sent notices to a dead address the bounce is about: the one it returns, else the
    matched cases' latest notice to that address."""
    lowered = {a.lower() for a in dead}
    if match.notice_id is not None:
        notice = session.get(Notice, match.notice_id)
        if notice is not None and notice.recipient_email.lower() in lowered:
            return [notice]
    if not match.case_ids:
        return []
    query = (
        select(Notice)
        .join(notice_cases, notice_cases.c.notice_id == Notice.id)
        .where(
            notice_cases.c.case_id.in_(match.case_ids[:MAX_CASES]),
            Notice.status == NoticeStatus.SENT,
        )
        .order_by(Notice.id.desc())
    )
    latest: dict[str, Notice] = {}
    for notice in session.scalars(query):
        if notice.recipient_email.lower() in lowered:
            latest.setdefault(notice.recipient_email.lower(), notice)
    return list(latest.values())


def act_on(
    session: Session,
    mail: InboundMail,
    found: Classification,
    match: CaseMatch,
    *,
    rerouting: Rerouting | None,
    actor: str,
    now: datetime,
    flow_run_id: str | None = None,
) -> dict[str, Any]:
    """Take the steps ``found`` calls for; return what was done (for the summary). Flushes."""
    done: dict[str, Any] = {"dead": [], "rerouted": [], "rechecks": 0, "flagged": 0}
    cases = (
        list(session.scalars(select(Case).where(Case.id.in_(match.case_ids[:MAX_CASES]))))
        if match.case_ids
        else []
    )
    steps: list[str] = [found.why]
    problems: list[str] = []
    if found.kind is InboundClass.BOUNCE_PERMANENT:
        done["dead"] = mark_dead(session, found.failed_addresses, mail, actor=actor, now=now)
        steps.append("dead: " + ", ".join(found.failed_addresses))
        for notice in _bounced_notices(session, match, found.failed_addresses):
            notice.last_error = clean_text(
                f"bounced permanently (inbound message {mail.id}): {mail.why}", 500
            )
            if rerouting is None:
                problems.append("no partner directory to re-route the notice with")
                continue
            outcome = reroute(session, notice, rerouting, now)
            done["rerouted"] += outcome.notice_ids
            problems += outcome.problems
            if outcome.recipients:
                steps.append("re-routed to " + ", ".join(outcome.recipients))
    if found.kind is InboundClass.AUTO_ACK and found.ticket:
        for case in cases:
            case.ticket = found.ticket
        steps.append(f"ticket {found.ticket} kept")
    if found.claims_removed:
        for case in cases:
            if case.is_open and case.status in RECHECKED_STATUSES:
                case.next_check_at = now
                done["rechecks"] += 1
        steps.append("says removed: recheck now")
    flag = (found.kind is InboundClass.REPLY and bool(cases)) or bool(problems)
    mail.needs_analyst = not cases or found.kind is InboundClass.REPLY or bool(problems)
    for case in cases:
        if flag:
            done["flagged"] += int(not case.needs_analyst)
            case.needs_analyst = True
            who = mail.sender or "an unknown sender"
            why = "; ".join(problems) if problems else f"{who} replied"
            case.analyst_reason = clean_text(ANALYST_PREFIX + why, MAX_REASON)
        case.updated_at = now
        session.add(
            CaseEvent(
                case_id=case.id,
                at=now,
                kind=EventKind.CORRESPONDENCE,
                actor=actor,
                reason=clean_text("; ".join(steps + problems), MAX_REASON),
                flow_run_id=flow_run_id,
                detail={
                    "inbound_message": mail.id,
                    "class": found.kind.value,
                    "matched_by": match.how,
                    "failed_addresses": list(found.failed_addresses),
                    "ticket": found.ticket,
                    "claims_removed": found.claims_removed,
                    "rerouted_notice_ids": sorted(done["rerouted"]),
                    "problems": [clean_text(p, 300) for p in problems[:20]],
                },
            )
        )
    session.flush()
    return done
