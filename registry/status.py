"""The enumerations stored in the system of record."""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    """Where a takedown case stands. Escalation is a level on the case, not a status."""

    NEW = "new"
    TRACING = "tracing"
    TRACED = "traced"
    TRACE_FAILED = "trace_failed"
    HELD = "held"  # waiting for law-enforcement deconfliction before the host is told
    NOTIFIED = "notified"
    MOVED = "moved"  # hosting changed after notice: re-trace and re-notify
    REMOVED = "removed"  # removal verified; still watched for reappearance
    REAPPEARED = "reappeared"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"

    @classmethod
    def closed_statuses(cls) -> frozenset[CaseStatus]:
        """Statuses in which a case is over: a new report of its URL opens a new case."""
        return frozenset({cls.CLOSED, cls.WITHDRAWN})

    @classmethod
    def open_statuses(cls) -> frozenset[CaseStatus]:
        return frozenset(cls) - cls.closed_statuses()

    @property
    def is_open(self) -> bool:
        return self not in CaseStatus.closed_statuses()


RECHECKED_STATUSES = (
    CaseStatus.TRACED,
    CaseStatus.HELD,
    CaseStatus.NOTIFIED,
    CaseStatus.MOVED,
    CaseStatus.REAPPEARED,
    CaseStatus.REMOVED,
)
"""Statuses whose URL the recheck probes, in a fixed order: the recheck claim names them in
this order, so PostgreSQL can match the claim to the partial index made for it."""


class EventKind(StrEnum):
    """What a case event records."""

    OPENED = "opened"
    TRANSITION = "transition"
    REPORT_ATTACHED = "report_attached"
    NOTE = "note"
    OVERRIDE = "override"
    ESCALATION = "escalation"
    CORRESPONDENCE = "correspondence"
    """A message came back about the case (a bounce, an acknowledgement, a reply)."""


class NoticeStatus(StrEnum):
    PENDING = "pending"  # rendered and waiting in the outbox
    HELD = "held"  # waiting for police clearance or the sending window
    SENDING = "sending"  # claimed by a delivery worker
    SENT = "sent"
    FAILED = "failed"  # permanently; the reason is kept
    CANCELLED = "cancelled"


class CheckOutcome(StrEnum):
    """What one removal probe saw."""

    PRESENT = "present"
    CHANGED = "changed"
    REMOVED = "removed"
    UNREACHABLE = "unreachable"
    BLOCKED = "blocked"


class OrganisationRole(StrEnum):
    HOST = "host"
    REGISTRAR = "registrar"
    CDN = "cdn"
    REGISTRY = "registry"


class PartnerKind(StrEnum):
    HOTLINE = "hotline"
    POLICE = "police"
