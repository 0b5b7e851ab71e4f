"""A notice: one message to one recipient about one or more cases, kept as sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from registry.base import Base, str_enum, utcnow
from registry.status import NoticeStatus

notice_cases = Table(
    "notice_cases",
    Base.metadata,
    Column("notice_id", ForeignKey("notices.id", ondelete="CASCADE"), primary_key=True),
    Column("case_id", ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Notice(Base):
    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_status_send_after", "status", "send_after"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[NoticeStatus] = mapped_column(
        str_enum(NoticeStatus), default=NoticeStatus.PENDING
    )
    recipient_email: Mapped[str] = mapped_column(String(320))
    recipient_name: Mapped[str | None] = mapped_column(String(255))
    recipient_role: Mapped[str] = mapped_column(String(32))
    partner_code: Mapped[str | None] = mapped_column(String(32), index=True)
    language: Mapped[str] = mapped_column(String(8))
    round: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    dedupe_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    """Makes each planned notice (a case, a round, a step, a recipient) happen once only."""
    reason: Mapped[str] = mapped_column(Text)
    """Why this notice goes to this recipient: the routing rule, kept as evidence."""
    subject: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    rendered: Mapped[str | None] = mapped_column(Text)
    """The RFC 5322 message exactly as delivered."""
    rendered_sha256: Mapped[str | None] = mapped_column(String(64))
    xarf_json: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    send_after: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
