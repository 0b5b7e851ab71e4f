"""One recheck of a case's URL: what the probe saw. Never the content itself."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from registry.base import Base, str_enum, utcnow
from registry.status import CheckOutcome


class Check(Base):
    __tablename__ = "checks"
    __table_args__ = (Index("ix_checks_case_at", "case_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[CheckOutcome] = mapped_column(str_enum(CheckOutcome))
    http_status: Mapped[int | None]
    address: Mapped[str | None] = mapped_column(String(64))
    sha256: Mapped[str | None] = mapped_column(String(64))
    """Digest of what was served; the bytes themselves were discarded."""
    bytes_read: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
