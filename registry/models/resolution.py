"""The hosting resolution of a case and the registry answers it rests on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from registry.base import Base, utcnow


class Resolution(Base):
    """One trace of a case: who hosts it, who registered it, whom to tell."""

    __tablename__ = "resolutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    resolved_at: Mapped[datetime] = mapped_column(default=utcnow)
    ok: Mapped[bool]
    """True when the hosting network was found."""
    result: Mapped[dict[str, object]] = mapped_column(JSON)
    """The resolution as ``takedown resolve --json`` prints it."""
    flow_run_id: Mapped[str | None] = mapped_column(String(64))


class Evidence(Base):
    """A registry or DNS answer kept as evidence: size-capped, with the digest of what came."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    resolution_id: Mapped[int] = mapped_column(
        ForeignKey("resolutions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    server: Mapped[str] = mapped_column(String(255))
    query: Mapped[str] = mapped_column(String(512))
    at: Mapped[datetime]
    sha256: Mapped[str] = mapped_column(String(64))
    raw: Mapped[str] = mapped_column(Text)
    truncated: Mapped[bool] = mapped_column(default=False)
