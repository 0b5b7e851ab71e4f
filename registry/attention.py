"""What needs an analyst, and an analyst saying it has been dealt with.

A case is flagged (``needs_analyst``, with the reason) when the engine cannot go on alone: a
person replied, every address bounced, the content changed. A received message is queued when
it matched no case or a person wrote it. Neither flag clears itself; an analyst clears it here,
saying what they did. The note is a case event and an audit entry, so who decided what, and
when, stays on record.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.audit import AuditAction, record
from registry.case_actions import locked_case, required_reason
from registry.models import CaseEvent, InboundMail
from registry.status import EventKind


class NothingToHandle(ValueError):
    """The case or message does not need an analyst (any more)."""


class MessageNotFound(LookupError):
    """No received message has that number."""


def handle_case(
    session: Session, actor: str, case_id: int, note: str, *, now: datetime
) -> CaseEvent:
    """Clear the case's flag and mark its queued messages handled, with the analyst's note.

    Raises ``CaseNotFound``, :class:`NothingToHandle` or ``ReasonRequired``.
    """
    case = locked_case(session, case_id)
    note = required_reason(note)
    waiting = list(
        session.scalars(
            select(InboundMail)
            .where(
                InboundMail.case_id == case.id,
                InboundMail.needs_analyst,
                InboundMail.handled_at.is_(None),
            )
            .order_by(InboundMail.id)
            .with_for_update()
        )
    )
    if not case.needs_analyst and not waiting:
        raise NothingToHandle(f"case {case.reference} does not need an analyst")
    detail: dict[str, object] = {
        "flag": case.analyst_reason if case.needs_analyst else None,
        "messages": [mail.id for mail in waiting],
    }
    case.needs_analyst = False
    case.analyst_reason = None
    case.updated_at = now
    for mail in waiting:
        mail.handled_by = actor
        mail.handled_at = now
    event = CaseEvent(
        case_id=case.id, at=now, kind=EventKind.NOTE, actor=actor, reason=note, detail=detail
    )
    session.add(event)
    session.flush()
    record(
        session,
        actor=actor,
        action=AuditAction.HANDLED,
        subject=case.reference,
        detail={**detail, "note": note},
        now=now,
    )
    return event


def handle_message(
    session: Session, actor: str, message_id: int, note: str, *, now: datetime
) -> InboundMail:
    """Take a received message out of the analyst queue, with the analyst's note.

    A message about a case also gets the note on the case's history; the case's own flag is
    left to :func:`handle_case` (other messages or reasons may still need the analyst).
    Raises :class:`MessageNotFound`, :class:`NothingToHandle` or ``ReasonRequired``.
    """
    mail = session.scalar(select(InboundMail).where(InboundMail.id == message_id).with_for_update())
    if mail is None:
        raise MessageNotFound(f"there is no received message {message_id}")
    note = required_reason(note)
    if not mail.needs_analyst or mail.handled_at is not None:
        raise NothingToHandle(f"received message {message_id} is not waiting for an analyst")
    mail.handled_by = actor
    mail.handled_at = now
    if mail.case_id is not None:
        session.add(
            CaseEvent(
                case_id=mail.case_id,
                at=now,
                kind=EventKind.NOTE,
                actor=actor,
                reason=note,
                detail={"messages": [mail.id]},
            )
        )
    session.flush()
    record(
        session,
        actor=actor,
        action=AuditAction.HANDLED,
        subject=f"message {mail.id}",
        detail={"case_id": mail.case_id, "note": note},
        now=now,
    )
    return mail
