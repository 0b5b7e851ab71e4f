"""The vocabulary of notices: what kind a notice is, whom it addresses, and why it is due."""

from __future__ import annotations

from enum import StrEnum


class NoticeKind(StrEnum):
    """What a notice asks for; each kind has its own templates."""

    HOST_TAKEDOWN = "host_takedown"
    REGISTRAR_SUSPENSION = "registrar_suspension"
    REGISTRAR_UNTRACEABLE = "registrar_untraceable"
    """The hosting could not be determined: the registrar is asked to suspend the domain."""
    CDN_REQUEST = "cdn_request"
    HOTLINE_REFERRAL = "hotline_referral"
    POLICE_REFERRAL = "police_referral"
    REMINDER = "reminder"
    ESCALATION = "escalation"


class Role(StrEnum):
    """The part the recipient plays for the content."""

    HOST = "host"
    REGISTRAR = "registrar"
    CDN = "cdn"
    HOTLINE = "hotline"
    POLICE = "police"


class Circumstance(StrEnum):
    """Why notices are being planned now."""

    FIRST_ROUND = "first_round"
    """The case was just traced: the first notices go out."""
    REMINDER = "reminder"
    """The content is still up after ``reminder_every``."""
    ESCALATION = "escalation"
    """The content is still up after ``escalate_after``: registrar and police are told."""
    MOVED = "moved"
    """The hosting changed: the new host is told as if for the first time."""
    REAPPEARED = "reappeared"
    """Removed content is back: a new round of notices."""
    POLICE_CLEARED = "police_cleared"
    """The police partner cleared the case: the held host-side notices may go."""
    UNTRACEABLE = "untraceable"
    """The host cannot be found (the name does not resolve) but the domain's registrar can: a
    domain-level request goes to the registrar while the trace keeps being retried."""


ROLE_CARRIES_XARF = frozenset({Role.HOST, Role.REGISTRAR, Role.CDN})
"""Recipients that act on abuse reports by machine get X-ARF reports attached."""
