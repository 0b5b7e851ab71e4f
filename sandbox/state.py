"""What the world looks like now: DNS records, removals and suspensions, changed by timers.

Changes are scheduled at absolute times (notice arrival plus the behaviour's delay) and applied
lazily whenever a server looks at the state, so a run is deterministic given the arrival times
and a test can drive the clock by hand.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from sandbox.world.index import WorldIndex
from sandbox.world.model import ContentUrl, Domain, NameRecords, Network

Clock = Callable[[], float]
NameStatus = Literal["ok", "nxdomain", "servfail"]
UrlCondition = Literal["served", "removed", "reuploaded", "moved", "suspended", "unresolvable"]
MAX_CNAME_CHAIN = 8


@dataclass(frozen=True, slots=True)
class Removal:
    """The URL stops being served, answering `status` instead."""

    url: str
    status: int
    by: str


@dataclass(frozen=True, slots=True)
class Reupload:
    """The URL is served again after a removal."""

    url: str
    by: str


@dataclass(frozen=True, slots=True)
class Move:
    """The URL's host name is repointed at another provider's address."""

    url: str
    to: str
    by: str


@dataclass(frozen=True, slots=True)
class Suspension:
    """The registrar suspends the domain: every name under it answers NXDOMAIN."""

    domain: str
    by: str


@dataclass(frozen=True, slots=True)
class Forwarding:
    """A CDN or partner passes the notice on to whoever hosts the URL at that moment."""

    url: str
    by: str


Change = Removal | Reupload | Move | Suspension | Forwarding


@dataclass(slots=True)
class UrlHistory:
    """What happened to one URL so far."""

    removed_status: int | None = None
    removals: int = 0
    reuploads: int = 0


@dataclass(frozen=True, slots=True)
class AppliedChange:
    """A change as it took effect, for the inspection timeline."""

    at: float
    change: Change


@dataclass(slots=True)
class WorldState:
    """The current state of a world; every read first applies the changes that fell due."""

    index: WorldIndex
    clock: Clock = time.time
    records: dict[str, NameRecords] = field(init=False)
    suspended: set[str] = field(default_factory=set)
    urls: dict[str, UrlHistory] = field(default_factory=dict)
    applied: list[AppliedChange] = field(default_factory=list)
    on_forward: Callable[[Forwarding, float], None] | None = None
    _pending: list[tuple[float, int, Change]] = field(default_factory=list)
    _pending_by: Counter[tuple[str, str]] = field(default_factory=Counter)
    _sequence: itertools.count[int] = field(default_factory=itertools.count)
    _advancing: bool = False
    version: int = 0  # bumps with every applied change, so answer caches know to forget

    def __post_init__(self) -> None:
        self.records = dict(self.index.records)

    def schedule(self, at: float, change: Change) -> None:
        """Make `change` take effect at clock time `at`."""
        heapq.heappush(self._pending, (at, next(self._sequence), change))
        self._pending_by[(change.by, _subject(change))] += 1

    def is_pending(self, by: str, subject: str) -> bool:
        """Whether `by` already has a change under way for `subject` (a URL key or domain)."""
        return self._pending_by[(by, subject)] > 0

    def advance(self) -> None:
        """Apply every change whose time has come, in time order."""
        if self._advancing:
            return  # a forwarded notice reads the state while a change is being applied
        self._advancing = True
        try:
            now = self.clock()
            while self._pending and self._pending[0][0] <= now:
                at, _, change = heapq.heappop(self._pending)
                self._pending_by[(change.by, _subject(change))] -= 1
                self._apply(at, change)
        finally:
            self._advancing = False

    def _apply(self, at: float, change: Change) -> None:
        self.version += 1
        self.applied.append(AppliedChange(at, change))
        if isinstance(change, Removal):
            history = self.urls.setdefault(change.url, UrlHistory())
            history.removed_status = change.status
            history.removals += 1
        elif isinstance(change, Reupload):
            history = self.urls.setdefault(change.url, UrlHistory())
            history.removed_status = None
            history.reuploads += 1
        elif isinstance(change, Move):
            host = self.index.urls[change.url].host
            target = self.index.networks[change.to]
            self.records[host] = NameRecords(a=(str(target.home_address),))
        elif isinstance(change, Suspension):
            self.suspended.add(change.domain)
        elif self.on_forward is not None:
            self.on_forward(change, at)

    def name_status(self, name: str) -> tuple[NameStatus, Domain | None]:
        """How the DNS answers for `name` right now, and the world domain it falls under."""
        self.advance()
        domain = self.index.registered_domain(name)
        if domain is not None:
            if domain.name in self.suspended or domain.status == "nxdomain":
                return "nxdomain", domain
            if domain.status == "servfail":
                return "servfail", domain
        return "ok", domain

    def addresses(self, host: str) -> list[str]:
        """The addresses `host` resolves to now (empty if it does not resolve)."""
        self.advance()
        name = host
        for _ in range(MAX_CNAME_CHAIN):
            if self.name_status(name)[0] != "ok":
                return []
            records = self.records.get(name)
            if records is None:
                return []
            if records.cname is None:
                return list(records.a + records.aaaa)
            name = records.cname
        return []

    def holder(self, url: ContentUrl) -> Network | None:
        """The provider or CDN whose address the URL's host resolves to now."""
        addresses = self.addresses(url.host)
        return self.index.holder_of(addresses[0]) if addresses else None

    def condition(self, url: ContentUrl) -> UrlCondition:
        """The URL's state as a person would describe it."""
        self.advance()
        domain = self.index.registered_domain(url.host)
        if domain is not None and domain.name in self.suspended:
            return "suspended"
        history = self.urls.get(url.key)
        if history is not None and history.removed_status is not None:
            return "removed"
        holder = self.holder(url)
        if holder is None:
            return "unresolvable"
        if holder.id != self.original_holder_id(url):
            return "moved"
        if history is not None and history.reuploads:
            return "reuploaded"
        return "served"

    def original_holder_id(self, url: ContentUrl) -> str | None:
        """The provider or CDN the world file puts the URL at."""
        name = url.host
        for _ in range(MAX_CNAME_CHAIN):
            records = self.index.records.get(name)
            if records is None:
                return None
            if records.cname is None:
                addresses = records.a + records.aaaa
                holder = self.index.holder_of(addresses[0]) if addresses else None
                return holder.id if holder else None
            name = records.cname
        return None


def _subject(change: Change) -> str:
    return change.domain if isinstance(change, Suspension) else change.url
