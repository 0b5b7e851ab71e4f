"""The pure recheck decision: situations in, statuses, flags and the next check out."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from registry.lifecycle import allowed_next
from registry.status import CaseStatus as S
from registry.status import CheckOutcome as O
from registry.tracking.decide import (
    CHECKED_STATUSES,
    Observation,
    TracedHosting,
    TrackingPolicy,
    TrackingState,
    decide,
    up_since_first_notice,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
POLICY = TrackingPolicy(
    removal_confirmations=3,
    removal_spacing=timedelta(minutes=5),
    recheck_interval=timedelta(minutes=15),
    removed_recheck_interval=timedelta(days=1),
    reappearance_watch=timedelta(days=30),
)
TRACED = TracedHosting(prefix="127.16.0.0/24", ips=("127.16.0.10",))
INSIDE, OUTSIDE = "127.16.0.10", "127.17.0.10"
M = timedelta(minutes=5)
INTERVAL = timedelta(minutes=15)
DAY = timedelta(days=1)


def state(status: S = S.NOTIFIED, **changes: object) -> TrackingState:
    return replace(TrackingState(status, traced=TRACED), **changes)  # type: ignore[arg-type]


def seen(outcome: O, address: str | None = INSIDE, at: datetime = NOW) -> Observation:
    return Observation(outcome, at, address)


# (situation, state, outcome, address) -> (transitions, consecutive, counted, next in, flag)
CASES = [
    # Content still up where it was traced: nothing moves, the regular interval.
    ("up", state(), O.PRESENT, INSIDE, ((), 0, False, INTERVAL, False)),
    ("up resets the count", state(consecutive_removed=2, last_removed_at=NOW - M), O.PRESENT,
     INSIDE, ((), 0, False, INTERVAL, False)),
    ("changed needs an analyst", state(), O.CHANGED, INSIDE, ((), 0, False, INTERVAL, True)),
    ("first removed", state(), O.REMOVED, None, ((), 1, True, M, False)),
    ("second removed", state(consecutive_removed=1, last_removed_at=NOW - M), O.REMOVED, None,
     ((), 2, True, M, False)),
    ("third removed verifies", state(consecutive_removed=2, last_removed_at=NOW - M), O.REMOVED,
     None, ((S.REMOVED,), 3, True, DAY, False)),
    ("too soon does not count", state(consecutive_removed=2, last_removed_at=NOW - M / 2),
     O.REMOVED, None, ((), 2, False, M, False)),
    ("unreachable keeps the count", state(consecutive_removed=2, last_removed_at=NOW - M),
     O.UNREACHABLE, None, ((), 2, False, M, False)),
    ("unreachable while up", state(), O.UNREACHABLE, None, ((), 0, False, INTERVAL, False)),
    ("blocked needs an analyst", state(), O.BLOCKED, None, ((), 0, False, INTERVAL, True)),
    ("removed before any notice", state(S.TRACED, consecutive_removed=2, last_removed_at=NOW - M),
     O.REMOVED, None, ((S.REMOVED,), 3, True, DAY, False)),
    ("held case removed", state(S.HELD, consecutive_removed=2, last_removed_at=NOW - M),
     O.REMOVED, None, ((S.REMOVED,), 3, True, DAY, False)),
    ("moved case removed", state(S.MOVED, consecutive_removed=2, last_removed_at=NOW - M),
     O.REMOVED, None, ((S.REMOVED,), 3, True, DAY, False)),
    # Hosting changed.
    ("served elsewhere moves", state(), O.PRESENT, OUTSIDE,
     ((S.MOVED,), 0, False, INTERVAL, False)),
    ("already moved stays", state(S.MOVED), O.PRESENT, OUTSIDE, ((), 0, False, INTERVAL, False)),
    ("reappeared served elsewhere moves", state(S.REAPPEARED), O.PRESENT, OUTSIDE,
     ((S.MOVED,), 0, False, INTERVAL, False)),
    ("nothing traced: never moved", state(traced=TracedHosting()), O.PRESENT, OUTSIDE,
     ((), 0, False, INTERVAL, False)),
    # After verified removal.
    ("still removed", state(S.REMOVED, consecutive_removed=3, removal_verified_at=NOW - DAY),
     O.REMOVED, None, ((), 4, True, DAY, False)),
    ("back after removal reappears",
     state(S.REMOVED, consecutive_removed=3, removal_verified_at=NOW - DAY),
     O.PRESENT, INSIDE, ((S.REAPPEARED,), 0, False, INTERVAL, False)),
    ("back elsewhere reappears and moves", state(S.REMOVED, removal_verified_at=NOW - DAY),
     O.PRESENT, OUTSIDE, ((S.REAPPEARED, S.MOVED), 0, False, INTERVAL, False)),
    ("back changed reappears, needs analyst", state(S.REMOVED, removal_verified_at=NOW - DAY),
     O.CHANGED, INSIDE, ((S.REAPPEARED,), 0, False, INTERVAL, True)),
    ("watch over closes",
     state(S.REMOVED, consecutive_removed=9, removal_verified_at=NOW - timedelta(days=30)),
     O.REMOVED, None, ((S.CLOSED,), 10, True, None, False)),
    ("watch over, unreachable, closes",
     state(S.REMOVED, removal_verified_at=NOW - timedelta(days=31)),
     O.UNREACHABLE, None, ((S.CLOSED,), 0, False, None, False)),
    ("removed and blocked: no analyst", state(S.REMOVED, removal_verified_at=NOW - DAY),
     O.BLOCKED, None, ((), 0, False, DAY, False)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("situation", "before", "outcome", "address", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_decision_table(
    situation: str,
    before: TrackingState,
    outcome: O,
    address: str | None,
    expected: tuple[tuple[S, ...], int, bool, timedelta | None, bool],
) -> None:
    transitions, consecutive, counted, next_in, flagged = expected
    decision = decide(before, seen(outcome, address), POLICY)
    assert decision.transitions == transitions, situation
    assert decision.consecutive_removed == consecutive
    assert decision.counted is counted
    assert decision.next_check_at == (NOW + next_in if next_in is not None else None)
    assert decision.needs_analyst is flagged
    assert (decision.analyst_reason is not None) is flagged
    current = before.status
    for status in decision.transitions:  # every step is one the lifecycle allows
        assert status in allowed_next(current)
        current = status


def test_changed_says_why_and_keeps_an_earlier_flag_set() -> None:
    decision = decide(state(), Observation(O.CHANGED, NOW, INSIDE, "served other"), POLICY)
    assert decision.analyst_reason == (
        "the URL serves content other than the confirmed item (served other)"
    )
    flagged = state(needs_analyst=True, analyst_reason="earlier")
    assert decide(flagged, seen(O.PRESENT), POLICY).analyst_reason == "earlier"
    assert decide(flagged, seen(O.REMOVED), POLICY).needs_analyst


def test_reappearance_starts_a_new_notice_round_only_after_verified_removal() -> None:
    assert decide(state(S.REMOVED), seen(O.PRESENT), POLICY).new_notice_round
    assert not decide(state(S.NOTIFIED), seen(O.PRESENT), POLICY).new_notice_round
    assert not decide(state(S.REAPPEARED), seen(O.PRESENT), POLICY).new_notice_round


def test_a_sequence_of_checks_verifies_removal_only_after_n_spaced_removed_outcomes() -> None:
    current, at, verified_at = state(), NOW, None
    timeline = [
        (O.REMOVED, M),
        (O.UNREACHABLE, M),
        (O.REMOVED, M / 5),  # an early run: recorded, not counted
        (O.REMOVED, M),
        (O.REMOVED, M),
    ]
    last_removed = None
    for outcome, wait in timeline:
        decision = decide(
            replace(current, last_removed_at=last_removed), seen(outcome, at=at), POLICY
        )
        if outcome is O.REMOVED:
            last_removed = at
        if decision.final_status is S.REMOVED:
            verified_at = at
        current = replace(
            current,
            status=decision.final_status or current.status,
            consecutive_removed=decision.consecutive_removed,
        )
        at += wait
    assert current.status is S.REMOVED and current.consecutive_removed == 3
    assert verified_at == NOW + M + M + M / 5 + M


def test_one_confirmation_verifies_at_once() -> None:
    policy = replace(POLICY, removal_confirmations=1)
    assert decide(state(), seen(O.REMOVED), policy).transitions == (S.REMOVED,)
    with pytest.raises(ValueError):
        TrackingPolicy(removal_confirmations=0)


@pytest.mark.parametrize(
    ("address", "covered"),
    [("127.16.0.99", True), ("127.16.0.10", True), ("127.17.0.1", False), ("::1", False)],
)
def test_traced_hosting_covers_its_prefix_and_addresses(address: str, covered: bool) -> None:
    assert TRACED.covers(address) is covered


def test_traced_hosting_without_a_prefix_compares_addresses() -> None:
    ips_only = TracedHosting(None, ("127.16.0.10", "::1"))
    assert ips_only.covers("::1") and not ips_only.covers("127.16.0.11")
    assert TracedHosting().covers("127.16.0.10") is None
    assert TracedHosting("not a prefix", ()).covers("127.16.0.10") is None


def test_up_since_first_notice_feeds_the_escalation_ladder() -> None:
    notified = state(first_notice_at=NOW - timedelta(hours=50))
    assert up_since_first_notice(notified, NOW) == timedelta(hours=50)
    assert up_since_first_notice(state(), NOW) is None
    assert up_since_first_notice(replace(notified, status=S.REMOVED), NOW) is None


def test_only_live_statuses_are_checked() -> None:
    assert S.NEW not in CHECKED_STATUSES and S.CLOSED not in CHECKED_STATUSES
    assert S.REMOVED in CHECKED_STATUSES and S.WITHDRAWN not in CHECKED_STATUSES
