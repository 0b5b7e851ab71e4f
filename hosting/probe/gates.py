"""The probe's lookups and politeness: a short-lived address cache and per-host gates.

A batch of rechecks holds many URLs on one host. Their lookups are made once (concurrent askers
share one query) and reused for ``dns_cache_seconds``; the addresses are still checked by the
policy on every use. No more than ``per_host`` requests go to one host name at a time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, TypeVar

from hosting.common.slots import Slots
from hosting.dns.lookups import DnsAnswer, DnsStatus

MAX_CACHED_NAMES = 100_000
CACHEABLE = frozenset({DnsStatus.OK, DnsStatus.NXDOMAIN, DnsStatus.NO_ANSWER})
"""Answers worth reusing; timeouts and server failures are asked again next time."""
T = TypeVar("T")


class AddressResolver(Protocol):
    """What the probe asks of DNS (:class:`hosting.dns.lookups.DnsClient` is one)."""

    async def resolve_host(self, host: str) -> DnsAnswer:
        """The addresses of ``host``, or the status saying why there are none."""
        ...

    async def nameservers(self, domain: str) -> tuple[DnsStatus, list[str]]:
        """The NS names of ``domain``."""
        ...


class AddressCache:
    """Answers of a resolver, shared by concurrent askers and reused for a short time."""

    def __init__(
        self,
        resolver: AddressResolver,
        ttl: float,
        in_flight: int = 64,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._resolver = resolver
        # A burst of lookups larger than a resolver's socket buffers is lost, not answered.
        self._in_flight = Slots(in_flight)
        self._ttl = ttl
        self._clock = clock
        self._hosts: dict[str, tuple[float, asyncio.Future[DnsAnswer]]] = {}
        self._nameservers: dict[str, tuple[float, asyncio.Future[list[str]]]] = {}

    async def resolve(self, host: str) -> DnsAnswer:
        """The (possibly shared) answer for ``host``; failed lookups are not reused."""
        answer = await self._shared(self._hosts, host, lambda: self._ask_host(host))
        return answer

    async def _ask_host(self, host: str) -> DnsAnswer:
        async with self._in_flight:
            answer = await self._resolver.resolve_host(host)
        if answer.status not in CACHEABLE:
            self._forget(self._hosts, host)
        return answer

    async def nameservers(self, domain: str) -> list[str]:
        """The NS names of ``domain``; empty when the lookup failed."""

        async def ask() -> list[str]:
            async with self._in_flight:
                status, names = await self._resolver.nameservers(domain)
            if status not in CACHEABLE:
                self._forget(self._nameservers, domain)
            return names

        return await self._shared(self._nameservers, domain, ask)

    async def _shared(
        self,
        table: dict[str, tuple[float, asyncio.Future[T]]],
        key: str,
        ask: Callable[[], Coroutine[Any, Any, T]],
    ) -> T:
        now = self._clock()
        entry = table.get(key)
        if entry is not None and entry[0] > now:
            if entry[1].done():
                return entry[1].result()
            return await asyncio.shield(entry[1])
        if len(table) >= MAX_CACHED_NAMES:
            for stale in [k for k, (expires, _) in table.items() if expires <= now]:
                del table[stale]
            if len(table) >= MAX_CACHED_NAMES:
                table.clear()
        future: asyncio.Future[T] = asyncio.ensure_future(ask())
        table[key] = (now + self._ttl, future)
        try:
            return await asyncio.shield(future)
        except BaseException:
            self._forget(table, key, future)  # a failure is not remembered
            raise

    @staticmethod
    def _forget(
        table: dict[str, tuple[float, asyncio.Future[T]]],
        key: str,
        future: asyncio.Future[T] | None = None,
    ) -> None:
        entry = table.get(key)
        if entry is not None and (future is None or entry[1] is future):
            del table[key]


class HostGates:
    """At most ``per_host`` holders per host name; gates of idle hosts are forgotten."""

    def __init__(self, per_host: int) -> None:
        self._per_host = per_host
        self._gates: dict[str, tuple[Slots, list[int]]] = {}

    async def acquire(self, host: str) -> None:
        """Take one of ``host``'s places (waiting for one); pair with :meth:`release`."""
        entry = self._gates.get(host)
        if entry is None:
            entry = (Slots(self._per_host), [0])
            self._gates[host] = entry
        slots, users = entry
        users[0] += 1
        try:
            await slots.acquire()
        except BaseException:
            self._leave(host, users)
            raise

    def release(self, host: str) -> None:
        """Give back a place taken by :meth:`acquire`."""
        slots, users = self._gates[host]
        slots.release()
        self._leave(host, users)

    def _leave(self, host: str, users: list[int]) -> None:
        users[0] -= 1
        if users[0] == 0:
            del self._gates[host]
