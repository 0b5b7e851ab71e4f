"""Taking in a batch of received messages: parse, classify, store once, match, act.

One transaction per batch (the caller's unit of work commits); the mailbox marks the messages
stored only after that commit, so a crash in between means they are read again and found to
be stored already.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from notices.inbound import MessageTooLarge, classify, read_message
from registry.models import Case, InboundMail
from registry.replies.act import act_on
from registry.replies.match import match_case
from registry.replies.reroute import Rerouting
from registry.replies.store import store_message
from registry.tally import Tally

ACTOR = "flow:inbox"


@dataclass(slots=True)
class InboxSummary(Tally):
    """What one batch of the inbox did."""

    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    refused: int = 0
    """Messages over the size limit: left in the mailbox for a person."""
    matched: int = 0
    unmatched: int = 0
    dead_addresses: int = 0
    rerouted: int = 0
    rechecks: int = 0
    needs_analyst: int = 0
    by_class: Counter[str] = field(default_factory=Counter)


def take_in(
    session: Session,
    messages: Sequence[bytes],
    *,
    mailbox: str,
    rerouting: Rerouting | None,
    now: datetime,
    actor: str = ACTOR,
    flow_run_id: str | None = None,
) -> InboxSummary:
    """Store and act on each of ``messages`` (raw bytes) not stored before. Flushes."""
    summary = InboxSummary(fetched=len(messages))
    for raw in messages:
        try:
            message = read_message(raw)
        except MessageTooLarge:
            summary.refused += 1
            continue
        found = classify(message)
        mail = store_message(session, raw, message, found, mailbox=mailbox, now=now)
        if mail is None:
            summary.duplicates += 1
            continue
        summary.stored += 1
        summary.by_class[found.kind.value] += 1
        match = match_case(session, found.keys)
        mail.case_id, mail.notice_id = match.case_id, match.notice_id
        mail.matched_by = match.how or None
        summary.matched += int(match.case_id is not None)
        summary.unmatched += int(match.case_id is None)
        done = act_on(
            session,
            mail,
            found,
            match,
            rerouting=rerouting,
            actor=actor,
            now=now,
            flow_run_id=flow_run_id,
        )
        summary.dead_addresses += len(done["dead"])
        summary.rerouted += len(done["rerouted"])
        summary.rechecks += done["rechecks"]
        summary.needs_analyst += int(mail.needs_analyst)
    session.flush()
    return summary


def recent_messages(
    session: Session, *, limit: int = 50, queue_only: bool = False
) -> list[dict[str, Any]]:
    """The newest stored messages as plain data (no raw bytes), newest first."""
    query = select(InboundMail, Case.id).outerjoin(Case, Case.id == InboundMail.case_id)
    if queue_only:
        query = query.where(InboundMail.needs_analyst, InboundMail.handled_at.is_(None))
    rows = session.execute(query.order_by(InboundMail.id.desc()).limit(limit)).tuples()
    return [message_view(mail) for mail, _ in rows]


def case_messages(session: Session, case_id: int) -> list[dict[str, Any]]:
    """The messages matched to a case, oldest first."""
    rows = session.scalars(
        select(InboundMail).where(InboundMail.case_id == case_id).order_by(InboundMail.id)
    )
    return [message_view(mail) for mail in rows]


def message_view(mail: InboundMail) -> dict[str, Any]:
    """One stored message as plain data; its text is plain text for escaping by the caller."""
    from registry.models import case_reference

    return {
        "id": mail.id,
        "received_at": mail.received_at.isoformat(),
        "sender": mail.sender,
        "subject": mail.subject,
        "class": mail.kind.value,
        "why": mail.why,
        "ticket": mail.ticket,
        "claims_removed": mail.claims_removed,
        "failed_addresses": list(mail.failed_addresses or []),
        "case": case_reference(mail.case_id) if mail.case_id is not None else None,
        "case_id": mail.case_id,
        "matched_by": mail.matched_by,
        "needs_analyst": mail.needs_analyst and mail.handled_at is None,
        "attachments": list(mail.attachments or []),
        "reply_text": mail.reply_text,
    }


def explain(raw: bytes, session: Session | None = None) -> dict[str, Any]:
    """How a saved message reads: its class and what was extracted, and (given a session) the
    case it would be matched to. Stores nothing."""
    from registry.models import case_reference

    message = read_message(raw)
    found = classify(message)
    case_id: int | None = None
    how = None
    if session is not None:
        match = match_case(session, found.keys)
        case_id, how = match.case_id, match.how or None
    elif found.keys.case_ids:
        case_id, how = found.keys.case_ids[0], "reference"
    return {
        "class": found.kind.value,
        "why": found.why,
        "failed_addresses": list(found.failed_addresses),
        "permanent": found.kind.value == "bounce_permanent" if found.failed_addresses else None,
        "ticket": found.ticket,
        "claims_removed": found.claims_removed,
        "case": case_reference(case_id) if case_id is not None else None,
        "matched_by": how,
        "message_id": message.message_id,
        "subject": message.subject,
    }
