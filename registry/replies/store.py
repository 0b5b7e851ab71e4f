"""Storing a received message once: the same Message-ID, or the same bytes, is a duplicate."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from notices.inbound import Classification, InboundMessage
from registry.models import InboundMail


def find_stored(session: Session, message: InboundMessage) -> InboundMail | None:
    """The stored copy of ``message`` (by Message-ID, else by content), if there is one."""
    same = InboundMail.raw_sha256 == message.raw_sha256
    if message.message_id is not None:
        same = or_(same, InboundMail.message_id == message.message_id)
    return session.scalars(select(InboundMail).where(same).limit(1)).first()


def store_message(
    session: Session,
    raw: bytes,
    message: InboundMessage,
    classification: Classification,
    *,
    mailbox: str,
    now: datetime,
) -> InboundMail | None:
    """Store the message and return its row; None when it is stored already (another worker
    may have stored it meanwhile: the unique keys decide). Flushes."""
    if find_stored(session, message) is not None:
        return None
    row = InboundMail(
        message_id=message.message_id,
        raw_sha256=message.raw_sha256,
        raw=raw,
        size=message.size,
        mailbox=mailbox[:255],
        received_at=now,
        dated=message.date,
        sender=message.sender,
        subject=message.subject,
        kind=classification.kind,
        why=classification.why,
        ticket=classification.ticket,
        claims_removed=classification.claims_removed,
        failed_addresses=list(classification.failed_addresses),
        reply_text=classification.reply_text,
        attachments=[asdict(a) for a in message.attachments],
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return row
