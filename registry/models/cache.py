"""Cached registry and DNS answers, shared by every worker through the database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.base import Base


class CacheEntry(Base):
    __tablename__ = "resolution_cache"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    """``dns``, ``registrar-rdap``, ``network-whois`` …"""
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[dict[str, object]] = mapped_column(JSON)
    negative: Mapped[bool] = mapped_column(default=False)
    """A cached failure: kept briefly, so a broken server is not asked again at once."""
    expires_at: Mapped[datetime] = mapped_column(index=True)
