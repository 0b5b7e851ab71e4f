"""The escalation ladder as a pure decision: which step is due for a case still up after notice.

Defaults follow hotline practice (the directory's ``escalation`` section): a reminder to the host
every 24 hours while the content stays up; after 72 hours the registrar and the police partner
are told; after a longer period an analyst is asked to look. The clock starts at the case's
first notice. One step is due at a time, escalation before the analyst flag and either before a
reminder, and each carries a key that makes it happen once only however often the ladder is
evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from registry.status import CaseStatus

LADDER_STATUSES = frozenset({CaseStatus.NOTIFIED, CaseStatus.REAPPEARED})
"""Statuses in which the host has been told and the content is not known to be gone."""

LEVEL_NOTIFIED = 0
LEVEL_ESCALATED = 1
"""The registrar and the police partner have been told."""
LEVEL_ANALYST = 2
"""An analyst has been asked to look."""


class Step(StrEnum):
    REMINDER = "reminder"
    ESCALATION = "escalation"
    ANALYST = "analyst"


@dataclass(frozen=True, slots=True)
class Ladder:
    """The ladder's timings (the directory's ``escalation`` section)."""

    reminder_every: timedelta
    escalate_after: timedelta
    analyst_after: timedelta


@dataclass(frozen=True, slots=True)
class LadderPosition:
    """What the ladder needs to know about a case."""

    status: CaseStatus
    first_notice_at: datetime | None
    last_reminder_at: datetime | None
    escalation_level: int
    notice_round: int


@dataclass(frozen=True, slots=True)
class DueStep:
    step: Step
    key: str
    """Unique per case, round and step: the outbox refuses a second notice with it."""
    level: int
    """The case's escalation level once the step is taken."""
    reason: str


def due_step(position: LadderPosition, ladder: Ladder, now: datetime) -> DueStep | None:
    """The step due now for a case at ``position``, or None."""
    if position.status not in LADDER_STATUSES or position.first_notice_at is None:
        return None
    up_for = now - position.first_notice_at
    if up_for < timedelta(0):
        return None
    up = _duration(up_for)
    prefix = f"round{position.notice_round}"
    # In order, never skipping: the registrar and the police are told before an analyst is
    # asked, even when a late evaluation finds both due.
    if up_for >= ladder.escalate_after and position.escalation_level < LEVEL_ESCALATED:
        return DueStep(
            Step.ESCALATION,
            f"{prefix}:escalation",
            LEVEL_ESCALATED,
            f"content still up {up} after the first notice: registrar and police told",
        )
    if up_for >= ladder.analyst_after and position.escalation_level < LEVEL_ANALYST:
        return DueStep(
            Step.ANALYST,
            f"{prefix}:analyst",
            LEVEL_ANALYST,
            f"content still up {up} after the first notice",
        )
    since_reminder = now - (position.last_reminder_at or position.first_notice_at)
    if since_reminder >= ladder.reminder_every:
        # Numbered by the interval it belongs to, so a re-run in the same interval is a no-op.
        number = int(up_for / ladder.reminder_every)
        return DueStep(
            Step.REMINDER,
            f"{prefix}:reminder:{number}",
            position.escalation_level,
            f"reminder {number}: content still up {up} after the first notice",
        )
    return None


def _duration(span: timedelta) -> str:
    """``3 d 4 h``, ``5 h``, ``12 min`` or ``40 s``: the largest units that say it."""
    seconds = int(span.total_seconds())
    days, hours, minutes = seconds // 86400, seconds % 86400 // 3600, seconds % 3600 // 60
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h"
    return f"{minutes} min" if minutes else f"{seconds} s"
