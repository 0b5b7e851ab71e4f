"""Per-server concurrency caps, token-bucket rate limits and retries with backoff.

A :class:`ServerGates` hands out one :class:`ServerGate` per server host, so every client that
talks to ``rdap.lacnic.net`` shares one budget however many URLs are in flight.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from hosting.common.errors import RETRYABLE, RateLimited
from hosting.common.limits import Limits, RetryPolicy, ServerPolicy

T = TypeVar("T")
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class ServerGate:
    """Admits queries to one server: at most ``concurrency`` at once, at most the rate limit."""

    def __init__(
        self, policy: ServerPolicy, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self._slots = asyncio.Semaphore(max(1, policy.concurrency))
        self._rate = max(policy.rate.per_second, 1e-6)
        self._capacity = float(max(1, policy.rate.burst))
        self._tokens = self._capacity
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._bucket = asyncio.Lock()

    async def _take_token(self) -> None:
        # Waiters queue on the lock, so tokens go out in arrival order.
        async with self._bucket:
            while True:
                now = self._clock()
                self._tokens = min(self._capacity, self._tokens + (now - self._last) * self._rate)
                self._last = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await self._sleep((1 - self._tokens) / self._rate)

    async def run(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run ``call`` once a concurrency slot and a rate token are free."""
        async with self._slots:
            await self._take_token()
            return await call()


class ServerGates:
    """One gate per server host, created on first use from :class:`Limits`."""

    def __init__(
        self, limits: Limits, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self._limits = limits
        self._clock = clock
        self._sleep = sleep
        self._gates: dict[str, ServerGate] = {}

    def for_server(self, host: str) -> ServerGate:
        """The shared gate of ``host``."""
        key = host.lower()
        gate = self._gates.get(key)
        if gate is None:
            gate = ServerGate(self._limits.for_server(key), self._clock, self._sleep)
            self._gates[key] = gate
        return gate


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
