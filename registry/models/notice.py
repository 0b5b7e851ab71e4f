"""A notice: one message to one recipient about one or more cases, kept as sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, LargeBinary, String, Table, Text, text
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


class NoticePdf(Base):
    """A notice's printable PDF, made on its first download and kept from then on.

    Rendering takes a tenth of a second or more, and every web process and the command line
    would otherwise make their own; kept here, every bundle of a case carries the very same
    PDF bytes, whichever process or release of the renderer is asked later.
    """

    __tablename__ = "notice_pdfs"

    notice_id: Mapped[int] = mapped_column(
        ForeignKey("notices.id", ondelete="CASCADE"), primary_key=True
    )
    rendered_sha256: Mapped[str] = mapped_column(String(64))
    """The digest of the stored message the PDF was made from."""
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    made_at: Mapped[datetime] = mapped_column(default=utcnow)
