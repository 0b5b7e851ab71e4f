"""May a notice leave now? The directory's ``sending`` section as a pure function of an instant.

Days and the window are read in the directory's time zone (``zoneinfo``), so "08:00-18:00,
quiet on sat and sun, closed on 2026-12-25" means what the hotline's staff mean by it, across
daylight-saving changes. A window that starts at a local time skipped by a daylight-saving jump
opens at the instant the clock jumps to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from notices.directory import WEEKDAYS, SendingPolicy

MAX_LOOKAHEAD_DAYS = 400
"""How far ahead to look for an open day before giving up (more than a year of holidays)."""


class NoSendingWindow(RuntimeError):
    """No open sending window within :data:`MAX_LOOKAHEAD_DAYS` (holidays cover everything)."""


@dataclass(frozen=True, slots=True)
class SendDecision:
    """Whether sending is allowed at the instant asked about, and if not, from when."""

    allowed: bool
    next_allowed: datetime
    """In UTC; equal to the instant asked about when ``allowed``."""


def _local_instant(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    if minutes >= 24 * 60:
        day, minutes = day + timedelta(days=1), 0
    local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone)
    return local.astimezone(UTC)


def _closed(day: date, policy: SendingPolicy) -> bool:
    return WEEKDAYS[day.weekday()] in policy.quiet_days or day in policy.holidays


def sending_decision(policy: SendingPolicy, now: datetime) -> SendDecision:
    """Decide for the aware instant ``now``: allowed, or the next instant the window opens.

    Raises :class:`NoSendingWindow` if no open day exists within the look-ahead.
    """
    if now.tzinfo is None:
        raise ValueError("now must carry a time zone")
    instant = now.astimezone(UTC)
    zone = ZoneInfo(policy.timezone)
    today = instant.astimezone(zone).date()
    start, end = policy.window_minutes
    for offset in range(MAX_LOOKAHEAD_DAYS):
        day = today + timedelta(days=offset)
        if _closed(day, policy):
            continue
        opens = _local_instant(day, start, zone)
        closes = _local_instant(day, end, zone)
        if opens <= instant < closes:
            return SendDecision(allowed=True, next_allowed=instant)
        if instant < opens:
            return SendDecision(allowed=False, next_allowed=opens)
    raise NoSendingWindow(f"no open sending window in the next {MAX_LOOKAHEAD_DAYS} days")
