"""Per-server concurrency caps, token-bucket rate limits and retries with backoff.

A :class:`ServerGates` hands out one :class:`ServerGate` per server (host and port where we
connect), so every client that talks to ``rdap.lacnic.net`` shares one budget however many URLs
are in flight, and so do two names that lead to the same server.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from hosting.common.errors import RETRYABLE, RateLimited
from hosting.common.limits import Limits, RateLimit, RetryPolicy, ServerPolicy
from hosting.common.slots import Slots

T = TypeVar("T")
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


def strictest(policies: Iterable[ServerPolicy]) -> ServerPolicy:
    """The policy no looser than any of ``policies``: fewest at once, slowest rate, least burst."""
    chosen = list(policies)
    rate = min((p.rate for p in chosen), key=lambda r: r.per_second)
    burst = min(p.rate.burst for p in chosen)
    return ServerPolicy(
        concurrency=min(p.concurrency for p in chosen),
        rate=RateLimit(rate.queries, rate.per_seconds, burst=burst),
    )


class ServerGate:
    """Admits queries to one server: at most ``concurrency`` at once, at most the rate limit.

    ``async with gate:`` holds one slot (and has spent one rate token) for the block."""

    def __init__(
        self, policy: ServerPolicy, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.policy = policy
        self._slots = Slots(max(1, policy.concurrency))
        self._rate = max(policy.rate.per_second, 1e-6)
        self._capacity = float(max(1, policy.rate.burst))
        self._tokens = self._capacity
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._bucket = asyncio.Lock()

    def tighten(self, policy: ServerPolicy) -> None:
        """Obey ``policy`` as well from now on (a second name for the same server, with a
        stricter policy): queries already admitted finish, no new one is admitted above it."""
        if policy == self.policy:
            return
        self.policy = strictest((self.policy, policy))
        self._slots.limit = max(1, self.policy.concurrency)
        self._rate = max(self.policy.rate.per_second, 1e-6)
        self._capacity = float(max(1, self.policy.rate.burst))
        self._tokens = min(self._tokens, self._capacity)

    @property
    def active(self) -> int:
        """Queries admitted and not yet finished."""
        return self._slots.active

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._last) * self._rate)
        self._last = now

    async def _take_token(self) -> None:
        if not self._bucket.locked():
            self._refill()
            if self._tokens >= 1:
                self._tokens -= 1
                return
        # Waiters queue on the lock, so tokens go out in arrival order.
        async with self._bucket:
            while True:
                self._refill()
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await self._sleep((1 - self._tokens) / self._rate)

    async def __aenter__(self) -> None:
        await self._slots.acquire()
        try:
            await self._take_token()
        except BaseException:
            self._slots.release()
            raise

    async def __aexit__(self, *_exc: object) -> None:
        self._slots.release()

    async def run(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run ``call`` once a concurrency slot and a rate token are free."""
        async with self:
            return await call()


class Admission:
    """Admission through several gates at once (taken in order, given back in reverse)."""

    __slots__ = ("gates",)

    def __init__(self, gates: tuple[ServerGate, ...]) -> None:
        self.gates = gates

    async def __aenter__(self) -> None:
        taken: list[ServerGate] = []
        try:
            for gate in self.gates:
                await gate.__aenter__()
                taken.append(gate)
        except BaseException:
            for gate in reversed(taken):
                await gate.__aexit__()
            raise

    async def __aexit__(self, *_exc: object) -> None:
        for gate in reversed(self.gates):
            await gate.__aexit__()


class ServerGates:
    """One gate per server, created on first use from :class:`Limits`.

    A server is where we connect: a host (a name, or the address a referral was vetted to) and
    a port. Every name that leads there shares its gate, under the strictest of the policies of
    those names and of the host itself, so two names for one RDAP or WHOIS server share its
    cap. A name that leads elsewhere than itself (an override, a referral vetted to an address)
    also keeps a gate of its own under its own policy (:meth:`admission`): a registry whose name
    has several addresses gets its cap once, not once per address."""

    def __init__(
        self, limits: Limits, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self._limits = limits
        self._clock = clock
        self._sleep = sleep
        self._gates: dict[tuple[str, int | None], ServerGate] = {}
        self._named: set[tuple[str, int | None, str]] = set()
        self._names: dict[tuple[str, int | None], ServerGate] = {}

    def for_server(
        self, host: str, port: int | None = None, *, names: Iterable[str] = ()
    ) -> ServerGate:
        """The shared gate of the server at ``host`` (and ``port``), also known as ``names``."""
        key = (host.lower(), port)
        gate = self._gates.get(key)
        if gate is None:
            gate = ServerGate(self._limits.for_server(key[0]), self._clock, self._sleep)
            self._gates[key] = gate
        for name in names:
            known = (*key, name.lower())
            if known not in self._named:
                self._named.add(known)
                gate.tighten(self._limits.for_server(known[2]))
        return gate

    def admission(self, host: str, port: int | None = None, *, name: str = "") -> Admission:
        """What a query to the server at ``host`` and ``port``, known as ``name``, must pass:
        the gate of the name when it is not the host itself (taken first), then the server's."""
        server = self.for_server(host, port, names=(name,) if name else ())
        key = (name.lower(), port)
        if not name or key[0] == host.lower():
            return Admission((server,))
        named = self._names.get(key)
        if named is None:
            named = ServerGate(self._limits.for_server(key[0]), self._clock, self._sleep)
            self._names[key] = named
        return Admission((named, server))


async def with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    rng: random.Random | None = None,
    sleep: Sleep = asyncio.sleep,
) -> T:
    """Run ``call``, retrying retryable failures (timeouts, rate limits, resets) per ``policy``.

    The last failure is raised when the attempts run out or a server's Retry-After is longer than
    the policy is willing to wait.
    """
    chooser = rng or random.Random()
    attempt = 1
    while True:
        try:
            return await call()
        except RETRYABLE as exc:
            retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
            pause = policy.delay(attempt, retry_after, chooser)
            if pause is None:
                raise
        await sleep(pause)
        attempt += 1
