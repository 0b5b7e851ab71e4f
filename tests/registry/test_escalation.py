"""The escalation ladder: reminders, escalation and analyst attention, each once, in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from registry.escalation.ladder import (
    LEVEL_ANALYST,
    LEVEL_ESCALATED,
    Ladder,
    LadderPosition,
    Step,
    due_step,
)
from registry.status import CaseStatus

LADDER = Ladder(timedelta(hours=24), timedelta(hours=72), timedelta(days=7))
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def at(
    hours: float,
    *,
    level: int = 0,
    reminded: float | None = None,
    status: CaseStatus = CaseStatus.NOTIFIED,
    round_: int = 0,
) -> LadderPosition:
    return LadderPosition(
        status=status,
        first_notice_at=T0,
        last_reminder_at=None if reminded is None else T0 + timedelta(hours=reminded),
        escalation_level=level,
        notice_round=round_,
    )


def step_at(position: LadderPosition, hours: float) -> Step | None:
    due = due_step(position, LADDER, T0 + timedelta(hours=hours))
    return None if due is None else due.step


@pytest.mark.parametrize(
    ("position", "hours", "expected"),
    [
        (at(0), 1, None),
        (at(0), 23.9, None),
        (at(0), 24, Step.REMINDER),
        (at(0, reminded=24), 30, None),
        (at(0, reminded=24), 48, Step.REMINDER),
        (at(0, reminded=48), 72, Step.ESCALATION),
        (at(0, level=LEVEL_ESCALATED, reminded=72), 80, None),
        (at(0, level=LEVEL_ESCALATED, reminded=72), 96, Step.REMINDER),
        (at(0, level=LEVEL_ESCALATED, reminded=144), 168, Step.ANALYST),
        (at(0, level=LEVEL_ANALYST, reminded=168), 180, None),
        (at(0, level=LEVEL_ANALYST, reminded=168), 192, Step.REMINDER),
        # Found late, a case that was never escalated is escalated first, never skipped past.
        (at(0), 200, Step.ESCALATION),
        (at(0, level=LEVEL_ESCALATED, reminded=200), 200, Step.ANALYST),
    ],
)
def test_the_ladder_climbs_in_order(
    position: LadderPosition, hours: float, expected: Step | None
) -> None:
    assert step_at(position, hours) is expected


@pytest.mark.parametrize(
    "status",
    [
        CaseStatus.HELD,
        CaseStatus.REMOVED,
        CaseStatus.CLOSED,
        CaseStatus.WITHDRAWN,
        CaseStatus.MOVED,
        CaseStatus.TRACED,
    ],
)
def test_no_step_unless_the_host_was_told_and_the_content_is_up(status: CaseStatus) -> None:
    assert step_at(at(0, status=status), 500) is None


def test_a_case_reopened_after_reappearing_climbs_again() -> None:
    assert step_at(at(0, status=CaseStatus.REAPPEARED, round_=1), 30) is Step.REMINDER


def test_keys_make_each_step_happen_once_per_round() -> None:
    first = due_step(at(0), LADDER, T0 + timedelta(hours=25))
    same_interval = due_step(at(0), LADDER, T0 + timedelta(hours=47))
    next_round = due_step(at(0, round_=1), LADDER, T0 + timedelta(hours=25))
    assert first is not None and same_interval is not None and next_round is not None
    assert first.key == same_interval.key == "round0:reminder:1"
    assert next_round.key != first.key
    escalation = due_step(at(0, reminded=48), LADDER, T0 + timedelta(hours=73))
    assert escalation is not None and escalation.level == LEVEL_ESCALATED
    assert escalation.key == "round0:escalation"


def test_no_first_notice_means_no_ladder() -> None:
    position = LadderPosition(CaseStatus.NOTIFIED, None, None, 0, 0)
    assert due_step(position, LADDER, T0) is None
