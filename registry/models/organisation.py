"""Organisations a notice can go to (hosts, registrars, CDNs) and their abuse contacts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.base import Base, Timestamped, str_enum, utcnow
from registry.status import OrganisationRole, PartnerKind


class Organisation(Timestamped, Base):
    __tablename__ = "organisations"
    __table_args__ = (Index("ix_organisations_role_name", "role", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[OrganisationRole] = mapped_column(str_enum(OrganisationRole))
    name: Mapped[str] = mapped_column(String(255))
    country: Mapped[str | None] = mapped_column(String(2))
    asn: Mapped[int | None] = mapped_column(BigInteger)  # AS numbers are 32-bit unsigned
    iana_id: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(8))

    contacts: Mapped[list[Contact]] = relationship(
        back_populates="organisation", order_by="Contact.rank", lazy="raise_on_sql"
    )


class Contact(Base):
    """An abuse address, ranked, with where it was found (the evidence of why it is used)."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320))
    rank: Mapped[int] = mapped_column(default=0)
    source: Mapped[str] = mapped_column(String(64))
    """``rdap``, ``whois``, ``remarks``, ``guess``, ``override`` …"""
    confidence: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation: Mapped[Organisation] = relationship(
        back_populates="contacts", lazy="raise_on_sql"
    )


class Partner(Timestamped, Base):
    """A partner hotline or law-enforcement unit, mirrored from the partner directory."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[PartnerKind] = mapped_column(str_enum(PartnerKind))
    name: Mapped[str] = mapped_column(String(255))
    country: Mapped[str] = mapped_column(String(2))
    email: Mapped[str] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(8), default="en")
    clears_before_host_notice: Mapped[bool] = mapped_column(default=False)
