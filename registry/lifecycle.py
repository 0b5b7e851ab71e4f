"""The case lifecycle as a pure state machine: which status may follow which, and why not.

It knows nothing of the database; :mod:`registry.cases` applies a checked transition to a row
and records the event.
"""

from __future__ import annotations

from types import MappingProxyType

from registry.status import CaseStatus as S

_TRANSITIONS: MappingProxyType[S, frozenset[S]] = MappingProxyType(
    {
        S.NEW: frozenset({S.TRACING, S.WITHDRAWN}),
        S.TRACING: frozenset({S.TRACED, S.TRACE_FAILED, S.WITHDRAWN}),
        # A failed trace is retried later; an analyst may also give up on it.
        S.TRACE_FAILED: frozenset({S.TRACING, S.WITHDRAWN, S.CLOSED}),
        # Content can disappear before any notice goes out, so removal is reachable early.
        # Hosting can change before any notice went out: the case is re-traced (moved).
        S.TRACED: frozenset({S.HELD, S.NOTIFIED, S.REMOVED, S.MOVED, S.TRACING, S.WITHDRAWN}),
        S.HELD: frozenset({S.NOTIFIED, S.REMOVED, S.MOVED, S.WITHDRAWN}),
        S.NOTIFIED: frozenset({S.REMOVED, S.MOVED, S.WITHDRAWN}),
        S.MOVED: frozenset({S.TRACING, S.NOTIFIED, S.REMOVED, S.WITHDRAWN}),
        S.REMOVED: frozenset({S.REAPPEARED, S.CLOSED}),
        # Reappeared in our own country: the police clear the new round first.
        S.REAPPEARED: frozenset({S.HELD, S.NOTIFIED, S.REMOVED, S.MOVED, S.WITHDRAWN}),
        S.CLOSED: frozenset(),
        S.WITHDRAWN: frozenset(),
    }
)


class IllegalTransition(ValueError):
    """A status change the lifecycle does not allow."""

    def __init__(self, current: S, wanted: S) -> None:
        self.current = current
        self.wanted = wanted
        allowed = ", ".join(sorted(allowed_next(current))) or "nothing (it is final)"
        super().__init__(
            f"a case in status '{current}' cannot become '{wanted}'; it may become: {allowed}"
        )


def allowed_next(current: S) -> frozenset[S]:
    """The statuses a case in ``current`` may move to."""
    return _TRANSITIONS[current]


def check_transition(current: S, wanted: S) -> S:
    """Return ``wanted`` if a case may move there from ``current``, else raise."""
    if wanted not in _TRANSITIONS[current]:
        raise IllegalTransition(current, wanted)
    return wanted
