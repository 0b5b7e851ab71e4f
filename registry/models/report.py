"""A confirmed report: what an analyst confirmed, as received. Nothing about the reporter."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.base import Base, ascii_key, utcnow

if TYPE_CHECKING:
    from registry.models.case import Case


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("source", "report_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(ascii_key(32))
    """The portal or hotline the report came through (``bz``, ``ky``)."""
    report_id: Mapped[str] = mapped_column(ascii_key(128))
    """The source's own identifier; unique per source."""
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    """As normalised; the raw spelling is not kept (it may have carried credentials)."""
    confirmed_at: Mapped[datetime]
    category: Mapped[str] = mapped_column(String(32))
    analyst: Mapped[str | None] = mapped_column(String(128))
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)
    had_userinfo: Mapped[bool] = mapped_column(default=False)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship(back_populates="reports", lazy="raise_on_sql")
