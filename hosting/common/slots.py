"""A first-come, first-served limit on how many tasks hold a place at once.

Used for every concurrency cap in tracing and probing: a server's gate, the DNS queries in
flight, the probe's global, per-host and lookup limits. A freed place goes straight to the
oldest waiter. :class:`asyncio.Semaphore` (as of Python 3.11) scans and removes its waiters by
value, which grows with their number, and a recheck batch or a trace queues thousands of tasks
behind one limit; a cancelled waiter here simply stays in line and is skipped when its turn
comes.
"""

from __future__ import annotations

import asyncio
from collections import deque


class Slots:
    """At most :attr:`limit` holders at once; ``async with slots:`` holds one place."""

    __slots__ = ("_active", "_limit", "_waiters")

    def __init__(self, limit: int) -> None:
        self._limit = _checked(limit)
        self._active = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def active(self) -> int:
        """Places held now (more than :attr:`limit` just after the limit was lowered)."""
        return self._active

    @property
    def limit(self) -> int:
        return self._limit

    @limit.setter
    def limit(self, limit: int) -> None:
        """A lowered limit lets the holders above it finish and admits no one until below it;
        a raised one admits waiters at once."""
        self._limit = _checked(limit)
        self._admit()

    async def acquire(self) -> None:
        """Take a place, waiting in line for one; pair with :meth:`release`."""
        if self._active < self._limit and not self._waiters:
            self._active += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter  # the place is handed over with the result
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a place just as it was cancelled: pass it on
            else:
                waiter.cancel()  # left in line, skipped when its turn comes
            raise

    def release(self) -> None:
        """Give a place back: to the oldest waiter still waiting, if the limit allows."""
        self._active -= 1
        self._admit()

    def _admit(self) -> None:
        waiters = self._waiters
        while waiters and self._active < self._limit:
            waiter = waiters.popleft()
            if not waiter.done():
                self._active += 1
                waiter.set_result(None)

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *_: object) -> None:
        self.release()


def _checked(limit: int) -> int:
    if limit < 1:
        raise ValueError("at least one place is needed")
    return limit
