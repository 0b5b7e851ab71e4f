"""What one recheck means for a case: the pure decision, free of the database and the network.

Given where a case stands (:class:`TrackingState`), what the probe saw (:class:`Observation`)
and the rules (:class:`TrackingPolicy`), :func:`decide` says which statuses the case moves
through, which flags change and when it is checked next. :mod:`registry.tracking.service`
applies it.

The rules:
- removal is verified after ``removal_confirmations`` consecutive ``removed`` outcomes, each at
  least ``removal_spacing`` after the previous counted one; until then the next check comes
  ``removal_spacing`` later;
- ``unreachable`` and ``blocked`` neither confirm nor reset (a ``blocked`` case needs an analyst:
  the probe may not look);
- content served (``present`` or ``changed``) resets the count; ``changed`` needs an analyst;
- content back after verified removal reopens the case as ``reappeared`` (a new notice round);
- content served from an address outside the traced network marks the case ``moved``;
- a verified removal is watched for ``reappearance_watch`` and then closed.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from registry.lifecycle import allowed_next
from registry.status import RECHECKED_STATUSES
from registry.status import CaseStatus as S
from registry.status import CheckOutcome as O

CHECKED_STATUSES = frozenset(RECHECKED_STATUSES)
"""Statuses whose URL the recheck probes."""

CONTENT_SERVED = frozenset({O.PRESENT, O.CHANGED})
INCONCLUSIVE = frozenset({O.UNREACHABLE, O.BLOCKED})


@dataclass(frozen=True, slots=True)
class TrackingPolicy:
    """The timing of rechecks and of removal verification."""

    removal_confirmations: int = 3
    removal_spacing: timedelta = timedelta(minutes=5)
    recheck_interval: timedelta = timedelta(minutes=15)
    """How often a case whose content is still up is probed."""
    removed_recheck_interval: timedelta = timedelta(days=1)
    """How often a verified removal is probed for reappearance."""
    reappearance_watch: timedelta = timedelta(days=30)
    """How long after verified removal a case is watched before it is closed."""
    claim_lease: timedelta = timedelta(minutes=10)
    """How far a claim pushes ``next_check_at``: a worker that dies frees its cases then."""

    def __post_init__(self) -> None:
        if self.removal_confirmations < 1:
            raise ValueError("at least one removed outcome is needed to verify removal")


@dataclass(frozen=True, slots=True)
class TracedHosting:
    """Where the trace found the content: the network prefix and the addresses."""

    prefix: str | None = None
    ips: tuple[str, ...] = ()

    def covers(self, address: str) -> bool | None:
        """Whether ``address`` is in the traced network; None when nothing is known."""
        ip = _address(address)
        if ip is None:
            return None
        network = _network(self.prefix) if self.prefix else None
        if network is not None and ip.version == network.version and ip in network:
            return True
        traced = [a for a in map(_address, self.ips) if a is not None]
        if ip in traced:
            return True
        return False if network is not None or traced else None


@lru_cache(maxsize=65536)
def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@lru_cache(maxsize=65536)
def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class TrackingState:
    """Where a case stands, as far as rechecks are concerned."""

    status: S
    consecutive_removed: int = 0
    last_removed_at: datetime | None = None
    """When the last ``removed`` outcome was seen, counted or not (for the spacing rule: a
    counted one is then always at least the spacing after the previous counted one)."""
    removal_verified_at: datetime | None = None
    first_notice_at: datetime | None = None
    needs_analyst: bool = False
    analyst_reason: str | None = None
    traced: TracedHosting = field(default_factory=TracedHosting)


@dataclass(frozen=True, slots=True)
class Observation:
    """What one probe saw, reduced to what the decision needs."""

    outcome: O
    at: datetime
    origin_address: str | None = None
    """The address the URL's own host answered on (before redirects)."""
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """What a recheck does to a case."""

    transitions: tuple[S, ...]
    """Statuses to move through, in order (each allowed by the lifecycle)."""
    reason: str
    consecutive_removed: int
    counted: bool
    """Whether a ``removed`` outcome counted towards verification."""
    next_check_at: datetime | None
    needs_analyst: bool
    analyst_reason: str | None
    new_notice_round: bool = False
    hosting_moved: bool = False

    @property
    def final_status(self) -> S | None:
        """The status the case ends in, or None when it does not move."""
        return self.transitions[-1] if self.transitions else None


def _path(start: S, *wanted: S) -> tuple[S, ...]:
    """The longest prefix of ``wanted`` the lifecycle allows from ``start``."""
    taken: list[S] = []
    current = start
    for status in wanted:
        if status not in allowed_next(current):
            break
        taken.append(status)
        current = status
    return tuple(taken)


def decide(state: TrackingState, seen: Observation, policy: TrackingPolicy) -> Decision:
    """The effect of one probe outcome on a case in a checked status."""
    if seen.outcome in CONTENT_SERVED:
        return _content_served(state, seen, policy)
    if seen.outcome is O.REMOVED:
        return _removed(state, seen, policy)
    return _inconclusive(state, seen, policy)


def _content_served(state: TrackingState, seen: Observation, policy: TrackingPolicy) -> Decision:
    wanted: list[S] = []
    reasons: list[str] = []
    reopened = state.status is S.REMOVED
    if reopened:
        wanted.append(S.REAPPEARED)
        reasons.append("content is served again after verified removal")
    covered = state.traced.covers(seen.origin_address) if seen.origin_address else None
    moved = covered is False
    if moved:
        wanted.append(S.MOVED)
        reasons.append(f"served from {seen.origin_address}, outside the traced network")
    transitions = _path(state.status, *wanted)
    needs_analyst, analyst_reason = state.needs_analyst, state.analyst_reason
    if seen.outcome is O.CHANGED:
        needs_analyst = True
        analyst_reason = "the URL serves content other than the confirmed item" + (
            f" ({seen.error})" if seen.error else ""
        )
        reasons.append("content changed")
    return Decision(
        transitions=transitions,
        reason="; ".join(reasons) or "content still served",
        consecutive_removed=0,
        counted=False,
        next_check_at=seen.at + policy.recheck_interval,
        needs_analyst=needs_analyst,
        analyst_reason=analyst_reason,
        new_notice_round=reopened,
        hosting_moved=moved and S.MOVED in transitions,
    )


def _watch_over(state: TrackingState, seen: Observation, policy: TrackingPolicy) -> bool:
    verified = state.removal_verified_at
    return verified is not None and seen.at - verified >= policy.reappearance_watch


def _removed(state: TrackingState, seen: Observation, policy: TrackingPolicy) -> Decision:
    def made(
        transitions: tuple[S, ...], reason: str, count: int, counted: bool, at: datetime | None
    ) -> Decision:
        return Decision(
            transitions, reason, count, counted, at, state.needs_analyst, state.analyst_reason
        )

    if state.status is S.REMOVED:
        count = state.consecutive_removed + 1
        if _watch_over(state, seen, policy):
            return made((S.CLOSED,), "no reappearance while watched", count, True, None)
        return made((), "still removed", count, True, seen.at + policy.removed_recheck_interval)
    last = state.last_removed_at
    if (
        state.consecutive_removed > 0
        and last is not None
        and seen.at - last < policy.removal_spacing
    ):
        # Too soon after the previous removed check (an early run): recorded, not counted. The
        # next regular check comes a full spacing later, so it counts.
        reason = "removed, too soon after the previous removed check to count"
        next_at = seen.at + policy.removal_spacing
        return made((), reason, state.consecutive_removed, False, next_at)
    count = state.consecutive_removed + 1
    if count >= policy.removal_confirmations:
        reason = f"removal verified: {count} consecutive removed checks"
        next_at = seen.at + policy.removed_recheck_interval
        return made(_path(state.status, S.REMOVED), reason, count, True, next_at)
    reason = f"removed ({count} of {policy.removal_confirmations} checks)"
    return made((), reason, count, True, seen.at + policy.removal_spacing)


def _inconclusive(state: TrackingState, seen: Observation, policy: TrackingPolicy) -> Decision:
    needs_analyst, analyst_reason = state.needs_analyst, state.analyst_reason
    reason = f"{seen.outcome.value}: inconclusive"
    if state.status is S.REMOVED:
        if _watch_over(state, seen, policy):
            return Decision(
                (S.CLOSED,),
                "no reappearance while watched",
                state.consecutive_removed,
                False,
                None,
                needs_analyst,
                analyst_reason,
            )
        next_at = seen.at + policy.removed_recheck_interval
    elif state.consecutive_removed > 0:
        next_at = seen.at + policy.removal_spacing
    else:
        next_at = seen.at + policy.recheck_interval
    if seen.outcome is O.BLOCKED and state.status is not S.REMOVED:
        needs_analyst = True
        analyst_reason = "the URL now leads to an address the probe may not reach" + (
            f" ({seen.error})" if seen.error else ""
        )
    return Decision(
        (), reason, state.consecutive_removed, False, next_at, needs_analyst, analyst_reason
    )


def up_since_first_notice(state: TrackingState, now: datetime) -> timedelta | None:
    """How long the content has stayed up since the first notice went out, for the reminder and
    escalation ladder; None before any notice, or once removal is verified."""
    if state.first_notice_at is None or state.status in (S.REMOVED, S.CLOSED, S.WITHDRAWN):
        return None
    return now - state.first_notice_at
