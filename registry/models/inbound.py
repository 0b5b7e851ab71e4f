"""What came back: messages received in the inbound mailbox, and addresses known to be dead."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from notices.inbound import InboundClass
from registry.base import Base, str_enum, utcnow


class InboundMail(Base):
    """One received message, stored once, with its exact bytes as evidence.

    Its text is hostile: it is shown only as text (URLs defanged), its attachments are kept
    inside ``raw`` and described in ``attachments``, never rendered.
    """

    __tablename__ = "inbound_messages"
    __table_args__ = (Index("ix_inbound_messages_needs_analyst", "needs_analyst", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    raw_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int]
    mailbox: Mapped[str] = mapped_column(String(255))
    """Which inbox it was read from (no credentials)."""
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    """When the engine stored it."""
    dated: Mapped[datetime | None]
    """The message's own ``Date``."""
    sender: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[InboundClass] = mapped_column(str_enum(InboundClass))
    why: Mapped[str] = mapped_column(Text, default="")
    ticket: Mapped[str | None] = mapped_column(String(64))
    claims_removed: Mapped[bool] = mapped_column(default=False)
    failed_addresses: Mapped[list[str]] = mapped_column(JSON, default=list)
    reply_text: Mapped[str] = mapped_column(Text, default="")
    """The sender's own words, quoted history stripped; plain text."""
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id", ondelete="SET NULL"))
    """The notice it answers or returns, when known."""
    matched_by: Mapped[str | None] = mapped_column(String(32))
    needs_analyst: Mapped[bool] = mapped_column(default=False)
    """In the analyst queue: matched no case, or written by a person."""
    handled_by: Mapped[str | None] = mapped_column(String(128))
    handled_at: Mapped[datetime | None]


class DeadAddress(Base):
    """An address a permanent bounce showed dead: routing passes over it for every case."""

    __tablename__ = "dead_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    """Lower-cased."""
    reason: Mapped[str] = mapped_column(Text)
    inbound_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_messages.id", ondelete="SET NULL")
    )
    marked_at: Mapped[datetime] = mapped_column(default=utcnow)
