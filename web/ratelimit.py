"""Sign-in throttling: failed attempts per user name and per client address.

Counts are kept in this process's memory (a sliding window): with several app processes each
throttles on its own, so the effective limit is multiplied by their number.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SignInLimits:
    """How many failed sign-ins are tolerated within ``window_seconds``."""

    per_user: int = 5
    per_address: int = 20
    window_seconds: float = 15 * 60
    max_tracked: int = 100_000
    """Keys remembered at most, so a flood of made-up names cannot exhaust memory."""


class SignInThrottle:
    """Remembers recent failures; :meth:`blocked` says whether to refuse an attempt outright."""

    def __init__(
        self, limits: SignInLimits = SignInLimits(), clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, user: str, address: str) -> bool:
        """True when either the name or the address has failed too often lately."""
        with self._lock:
            return (
                self._recent(f"u:{user.lower()}") >= self.limits.per_user
                or self._recent(f"a:{address}") >= self.limits.per_address
            )

    def failed(self, user: str, address: str) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) >= self.limits.max_tracked:
                self._prune(now)
            for key in (f"u:{user.lower()}", f"a:{address}"):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, user: str) -> None:
        with self._lock:
            self._failures.pop(f"u:{user.lower()}", None)

    def _recent(self, key: str) -> int:
        times = self._failures.get(key)
        if not times:
            return 0
        horizon = self._clock() - self.limits.window_seconds
        while times and times[0] < horizon:
            times.popleft()
        return len(times)

    def _prune(self, now: float) -> None:
        horizon = now - self.limits.window_seconds
        stale = [k for k, v in self._failures.items() if not v or v[-1] < horizon]
        for key in stale:
            del self._failures[key]
        if len(self._failures) >= self.limits.max_tracked:
            self._failures.clear()  # still full of live keys: an attack; start afresh
