"""Who a token or session belongs to, remembered for a few seconds.

Every API call names its token and every page its signed-in user; looking either up in the
database costs a query and a trip to a worker thread, which under load queues behind other
requests' work. A principal found is kept for :attr:`PrincipalCache.seconds` (5 by default),
so a revoked token or a disabled user keeps access for at most that long in a process that
has just seen them. Failed lookups are not kept: a wrong token is asked again every time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable

from registry.users import Principal

MAX_ENTRIES = 10_000
"""Beyond this many, expired entries are dropped (and, if none expired, all of them)."""


class PrincipalCache:
    """A small, thread-safe map from a credential's key to its principal, with expiry."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._entries: dict[Hashable, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Principal | None:
        """The principal kept for ``key``, unless it expired."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._entries[key]
                return None
            return entry[1]

    def put(self, key: Hashable, principal: Principal) -> None:
        if self.seconds <= 0:
            return
        now = self._clock()
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                live = {k: v for k, v in self._entries.items() if v[0] > now}
                self._entries = live if len(live) < MAX_ENTRIES else {}
            self._entries[key] = (now + self.seconds, principal)
