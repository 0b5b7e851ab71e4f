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
from registry.models import Case, CaseEvent, DeadAddress, InboundMail, Notice
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


def bounced_notice(session: Session, match: CaseMatch, failed: tuple[str, ...]) -> Notice | None:
    """The sent notice a bounce returns, when the bounce names its Message-ID and its recipient
    among the failed addresses; else None.

    Anyone can mail the inbox a forged bounce: only one that returns a notice we sent (its
    Message-ID is not guessable) may mark that notice's recipient dead.
    """
    if match.how != "message_id" or match.notice_id is None:
        return None
    notice = session.get(Notice, match.notice_id)
    if notice is None or notice.status is not NoticeStatus.SENT:
        return None
    return notice if notice.recipient_email.lower() in {a.lower() for a in failed} else None


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
        notice = bounced_notice(session, match, found.failed_addresses)
        if notice is None:
            problems.append(
                "a permanent bounce for "
                + ", ".join(found.failed_addresses)
                + " that returns no notice we sent to it: no address marked dead"
            )
        else:
            dead = (notice.recipient_email.lower(),)
            done["dead"] = mark_dead(session, dead, mail, actor=actor, now=now)
            steps.append("dead: " + dead[0])
            notice.last_error = clean_text(
                f"bounced permanently (inbound message {mail.id}): {mail.why}", 500
            )
            if rerouting is None:
                problems.append("no partner directory to re-route the notice with")
            else:
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
