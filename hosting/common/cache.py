"""The cache a trace consults before asking the internet again.

Entries are plain JSON objects keyed by a kind (``"dns"``, ``"network-rdap"``, ...) and a key, with
a time to live and a *negative* flag for failed answers (cached briefly, so one outage does not
cost a query per URL). The database-backed cache of the system of record implements the same
:class:`ResolutionCache` protocol; :class:`MemoryCache` serves tests, benchmarks and one-off runs.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

JsonObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """A cached answer: its value, whether it records a failure, and when it goes stale."""

    value: JsonObject
    negative: bool
    expires_at: float
    """Seconds since the epoch."""


class ResolutionCache(Protocol):
    """Storage for answers with a time to live. Implementations must be safe to share by every
    resolution in one event loop; calls are synchronous and expected to be quick."""

    def get(self, kind: str, key: str) -> CacheEntry | None:
        """The live entry for ``(kind, key)``, or None if absent or expired."""
        ...

    def put(
        self, kind: str, key: str, value: JsonObject, *, ttl: float, negative: bool = False
    ) -> None:
        """Store ``value`` for ``ttl`` seconds; ``negative`` marks a failed answer."""
        ...


class MemoryCache:
    """An in-process :class:`ResolutionCache` bounded to ``max_entries`` (least recently used go
    first)."""

    def __init__(self, max_entries: int = 100_000, clock: Callable[[], float] = time.time) -> None:
        self._entries: OrderedDict[tuple[str, str], CacheEntry] = OrderedDict()
        self._max = max_entries
        self._clock = clock

    def get(self, kind: str, key: str) -> CacheEntry | None:
        """The live entry for ``(kind, key)``, or None if absent or expired."""
        entry = self._entries.get((kind, key))
        if entry is None:
            return None
        if entry.expires_at <= self._clock():
            del self._entries[(kind, key)]
            return None
        self._entries.move_to_end((kind, key))
        return entry

    def put(
        self, kind: str, key: str, value: JsonObject, *, ttl: float, negative: bool = False
    ) -> None:
        """Store ``value`` for ``ttl`` seconds; ``negative`` marks a failed answer."""
        self._entries[(kind, key)] = CacheEntry(value, negative, self._clock() + ttl)
        self._entries.move_to_end((kind, key))
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
