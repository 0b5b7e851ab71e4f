"""Domains an analyst judged wholly dedicated to abuse: blocked whole, not URL by URL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from registry.base import Base, utcnow


class AbusiveDomain(Base):
    __tablename__ = "abusive_domains"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    marked_by: Mapped[str] = mapped_column(String(128))
    marked_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str] = mapped_column(Text, default="")
