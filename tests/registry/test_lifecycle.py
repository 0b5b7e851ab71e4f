"""The case lifecycle: legal moves pass, illegal ones raise an error that says what is allowed."""

from __future__ import annotations

import itertools

import pytest

from registry.lifecycle import IllegalTransition, allowed_next, check_transition
from registry.status import CaseStatus as S

HAPPY_PATH = [S.NEW, S.TRACING, S.TRACED, S.HELD, S.NOTIFIED, S.REMOVED, S.CLOSED]


def test_the_usual_life_of_a_case_is_allowed() -> None:
    for current, wanted in itertools.pairwise(HAPPY_PATH):
        assert check_transition(current, wanted) is wanted


def test_reappearance_and_moves_reopen_the_work() -> None:
    assert check_transition(S.REMOVED, S.REAPPEARED) is S.REAPPEARED
    assert check_transition(S.REAPPEARED, S.NOTIFIED) is S.NOTIFIED
    assert check_transition(S.NOTIFIED, S.MOVED) is S.MOVED
    assert check_transition(S.MOVED, S.TRACING) is S.TRACING
    assert check_transition(S.TRACE_FAILED, S.TRACING) is S.TRACING


def test_an_illegal_move_names_what_is_allowed() -> None:
    with pytest.raises(IllegalTransition) as error:
        check_transition(S.NEW, S.REMOVED)
    assert "'new' cannot become 'removed'" in str(error.value)
    assert "tracing" in str(error.value) and "withdrawn" in str(error.value)


@pytest.mark.parametrize("final", [S.CLOSED, S.WITHDRAWN])
def test_closed_and_withdrawn_are_final(final: S) -> None:
    assert allowed_next(final) == frozenset()
    for status in S:
        with pytest.raises(IllegalTransition, match="final"):
            check_transition(final, status)


def test_every_open_status_can_be_left() -> None:
    for status in S.open_statuses():
        assert allowed_next(status), status


def test_withdrawn_is_reachable_from_every_status_an_analyst_can_act_on() -> None:
    for status in S.open_statuses() - {S.REMOVED}:
        assert S.WITHDRAWN in allowed_next(status), status
