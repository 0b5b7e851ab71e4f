"""Failed sign-ins, counted per account and per client across every web process."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.base import Base


class SignInFailure(Base):
    """One failed sign-in, under one key: ``u:<name>`` (the account) or ``a:<address>``."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("ix_sign_in_failures_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(index=True)
