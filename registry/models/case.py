"""A takedown case: one normalised URL followed from confirmation to verified removal."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.base import Base, ascii_key, str_enum, utcnow
from registry.status import RECHECKED_STATUSES, CaseStatus, CheckOutcome, EventKind

RECHECKED_PREDICATE = f"status IN ({', '.join(repr(s.value) for s in RECHECKED_STATUSES)})"
"""The rechecked statuses as SQL, for the recheck claim's partial index."""

if TYPE_CHECKING:
    from registry.models.report import Report


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        # At most one open case per URL; a closed case's URL may be reported and opened again.
        Index(
            "uq_cases_open_url",
            "url_sha256",
            unique=True,
            sqlite_where=text("is_open"),
            postgresql_where=text("is_open"),
        ),
        Index("ix_cases_status_next_check", "status", "next_check_at"),
        # Filled by tracing and only ever matched by equality: no entries for untraced cases.
        Index(
            "ix_cases_hosting_country",
            "hosting_country",
            sqlite_where=text("hosting_country IS NOT NULL"),
            postgresql_where=text("hosting_country IS NOT NULL"),
        ),
        # The case list pages by id within a status, and filters by age.
        Index("ix_cases_status_id", "status", "id"),
        Index("ix_cases_opened_at", "opened_at"),
        # The recheck claim takes the most overdue rechecked cases first. Without this index
        # PostgreSQL reads and sorts every due case for each claim of a thousand; with it, it
        # reads about a thousand index entries. SQLite cannot declare NULLS FIRST in an index
        # (its ascending order puts NULLs first anyway) and claims in-process: PostgreSQL only.
        Index(
            "ix_cases_recheck_due",
            text("next_check_at NULLS FIRST"),
            "id",
            postgresql_where=text(RECHECKED_PREDICATE),
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    """The normalised URL (the case's key)."""
    url_sha256: Mapped[str] = mapped_column(ascii_key(64))
    """SHA-256 of ``url``: indexable whatever the URL's length."""
    display_url: Mapped[str] = mapped_column(Text)
    """Defanged, Unicode-host form for people."""
    host: Mapped[str] = mapped_column(String(255), index=True)
    registrable_domain: Mapped[str | None] = mapped_column(String(255))
    """Not indexed: no query looks cases up by it (tracing reads it from the claimed rows)."""
    status: Mapped[CaseStatus] = mapped_column(str_enum(CaseStatus), default=CaseStatus.NEW)
    is_open: Mapped[bool] = mapped_column(default=True)
    escalation_level: Mapped[int] = mapped_column(default=0)
    needs_analyst: Mapped[bool] = mapped_column(default=False)
    category: Mapped[str] = mapped_column(String(32))
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    """Digest of the confirmed item, when an analyst gave one: what the probe compares with."""

    # Hosting resolution, filled by the trace step.
    hosting_country: Mapped[str | None] = mapped_column(String(2))
    hosting_network: Mapped[str | None] = mapped_column(String(255))
    hosting_asn: Mapped[int | None] = mapped_column(BigInteger)  # AS numbers are 32-bit unsigned
    registrar_name: Mapped[str | None] = mapped_column(String(255))
    cdn_name: Mapped[str | None] = mapped_column(String(255))
    host_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    registrar_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    cdn_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    trace_attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))

    # Tracking until removal is verified.
    notice_round: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    """Incremented each time a new round of notices starts (reappeared, moved)."""
    last_check_at: Mapped[datetime | None]
    last_outcome: Mapped[CheckOutcome | None] = mapped_column(str_enum(CheckOutcome))
    consecutive_removed: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    last_reminder_at: Mapped[datetime | None]
    ticket: Mapped[str | None] = mapped_column(String(64))
    """The host's own ticket number for the case, from its acknowledgement; quoted in reminders."""
    analyst_reason: Mapped[str | None] = mapped_column(Text)
    """Why ``needs_analyst`` was set (changed content, no removal after a long time …)."""

    # The instants the statistics need, kept as columns rather than derived from events.
    confirmed_at: Mapped[datetime]
    """The earliest analyst confirmation among the case's reports."""
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    traced_at: Mapped[datetime | None]
    first_notice_at: Mapped[datetime | None]
    removal_verified_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    next_check_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    reports: Mapped[list[Report]] = relationship(
        back_populates="case", order_by="Report.id", lazy="raise_on_sql"
    )
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", lazy="raise_on_sql"
    )

    @property
    def reference(self) -> str:
        """The reference quoted in every notice and page (``TD-000042``)."""
        return case_reference(self.id)


def case_reference(case_id: int) -> str:
    """The human reference of a case id."""
    return f"TD-{case_id:06d}"


class CaseEvent(Base):
    """One thing that happened to a case: who, when, why, and in which flow run."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[EventKind] = mapped_column(str_enum(EventKind))
    from_status: Mapped[CaseStatus | None] = mapped_column(str_enum(CaseStatus))
    to_status: Mapped[CaseStatus | None] = mapped_column(str_enum(CaseStatus))
    actor: Mapped[str] = mapped_column(String(128))
    """A user name, or ``flow:<name>`` for the engine's own steps."""
    reason: Mapped[str] = mapped_column(Text, default="")
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, object] | None] = mapped_column(JSON)

    case: Mapped[Case] = relationship(back_populates="events", lazy="raise_on_sql")
