"""The sending window: quiet days, holidays, the daily window and daylight-saving time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from notices.directory import SendingPolicy
from notices.schedule import NoSendingWindow, sending_decision

LONDON = SendingPolicy(
    timezone="Europe/London",
    window="08:00-18:00",
    quiet_days=("sat", "sun"),
    holidays=(date(2026, 12, 25),),
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "allowed", "next_allowed"),
    [
        (utc(2026, 1, 14, 12, 0), True, utc(2026, 1, 14, 12, 0)),  # Wednesday noon
        (utc(2026, 1, 14, 7, 59), False, utc(2026, 1, 14, 8, 0)),  # before the window
        (utc(2026, 1, 14, 18, 0), False, utc(2026, 1, 15, 8, 0)),  # window end is exclusive
        (utc(2026, 1, 16, 19, 0), False, utc(2026, 1, 19, 8, 0)),  # Friday evening -> Monday
        (utc(2026, 12, 24, 18, 30), False, utc(2026, 12, 28, 8, 0)),  # holiday + weekend
        (utc(2026, 7, 15, 7, 30), True, utc(2026, 7, 15, 7, 30)),  # 08:30 BST is 07:30 UTC
        (utc(2026, 3, 29, 6, 0), False, utc(2026, 3, 30, 7, 0)),  # DST Sunday -> Monday 08:00 BST
    ],
)
def test_sending_decision(now: datetime, allowed: bool, next_allowed: datetime) -> None:
    decision = sending_decision(LONDON, now)
    assert decision.allowed is allowed
    assert decision.next_allowed == next_allowed
    assert decision.next_allowed.tzinfo is UTC


def test_always_open_window_respects_quiet_days_only() -> None:
    policy = SendingPolicy(quiet_days=("sun",))
    assert sending_decision(policy, utc(2026, 1, 14, 3, 0)).allowed
    sunday = sending_decision(policy, utc(2026, 1, 18, 23, 59))
    assert not sunday.allowed and sunday.next_allowed == utc(2026, 1, 19, 0, 0)


def test_local_time_zone_decides_the_day() -> None:
    belize = SendingPolicy(timezone="America/Belize", window="08:00-17:00", quiet_days=("sat",))
    # Saturday 01:00 UTC is still Friday 19:00 in Belize: closed for the evening, then Saturday.
    decision = sending_decision(belize, utc(2026, 1, 17, 1, 0))
    assert decision.next_allowed == utc(2026, 1, 18, 14, 0)  # Sunday 08:00 CST


def test_no_window_within_the_lookahead() -> None:
    start = date(2026, 1, 1)
    policy = SendingPolicy(holidays=tuple(start + timedelta(days=n) for n in range(401)))
    with pytest.raises(NoSendingWindow):
        sending_decision(policy, utc(2026, 1, 1, 12, 0))


def test_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        sending_decision(LONDON, datetime(2026, 1, 14, 12, 0))
