"""The loopback request ceiling: how many requests a second the sandbox's content hosts answer
a client that does nothing else, measured on the machine as it is during the benchmark.

The client is as thin as asyncio allows: one protocol object per keep-alive connection, each
request a prepared byte string, each answer's head found and its body counted and dropped (no
hashing, no DNS during the timing, no database). It sends the world's own URLs to the address
each URL's host resolves to (looked up once, before the timing), with as many requests in
flight as the benchmark's recheck processes had, so the ceiling meets the same per-request delay.
Checks per second divided by this ceiling says how close the recheck came to what the network
and the sandbox allow, whatever else the machine was doing.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from hosting.dns.addresses import ProbeResolver

HEAD_END = b"\r\n\r\n"
STATUS = re.compile(rb"HTTP/1\.[01] (\d{3})")
LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Ceiling:
    """What the thin client did."""

    requests: int
    seconds: float
    statuses: Counter[int]
    cpu_seconds: float
    """CPU time of the client's own process while it ran."""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


class _Client(asyncio.Protocol):
    """One keep-alive connection sending the requests of its queue one after another."""

    def __init__(self, queue: deque[bytes], answered: Callable[[int], None]) -> None:
        self.queue = queue
        self.answered = answered
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.expected = -1  # bytes of the current answer (head and body), once its head is in
        self.status = 0
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._next()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if self.expected < 0:
                end = self.buffer.find(HEAD_END)
                if end < 0:
                    return
                head = bytes(self.buffer[:end])
                status = STATUS.match(head)
                length = LENGTH.search(head)
                self.status = int(status.group(1)) if status else 0
                self.expected = end + 4 + (int(length.group(1)) if length else 0)
            if len(self.buffer) < self.expected:
                return
            del self.buffer[: self.expected]
            self.expected = -1
            self.answered(self.status)
            self._next()

    def _next(self) -> None:
        assert self.transport is not None
        if self.queue:
            self.transport.write(self.queue.popleft())
        else:
            self.transport.close()


async def _addresses(dns: str, hosts: set[str]) -> dict[str, str]:
    """One IPv4 address of each host, as the sandbox's DNS answers now."""
    resolver = ProbeResolver.from_setting(dns)
    slots = asyncio.Semaphore(64)

    async def one(host: str) -> tuple[str, str | None]:
        async with slots:
            answer = await resolver.resolve_host(host)
        return host, next((a for a in answer.addresses if ":" not in a), None)

    found = await asyncio.gather(*(one(host) for host in hosts))
    return {host: address for host, address in found if address is not None}


async def measure(
    urls: Sequence[str], *, dns: str, in_flight: int, user_agent: str = "TakedownCeiling/bench"
) -> Ceiling:
    """Send every URL once over ``in_flight`` keep-alive connections; time the whole."""
    parts = [urlsplit(url) for url in urls]
    addresses = await _addresses(dns, {p.hostname for p in parts if p.hostname})
    queues: dict[tuple[str, int], deque[bytes]] = defaultdict(deque)
    for part in parts:
        address = addresses.get(part.hostname or "")
        if address is None:
            continue  # no address today: the recheck finds it unreachable or removed
        target = part.path + (f"?{part.query}" if part.query else "")
        queues[(address, part.port or 80)].append(
            f"GET {target} HTTP/1.1\r\nHost: {part.netloc}\r\nUser-Agent: {user_agent}\r\n"
            "Accept: */*\r\nConnection: keep-alive\r\n\r\n".encode("latin-1")
        )
    total = sum(len(q) for q in queues.values())
    if not total:
        return Ceiling(0, 0.0, Counter(), 0.0)
    # Connections shared out by each address's share of the requests (at least one each).
    share = {key: max(1, round(in_flight * len(q) / total)) for key, q in queues.items()}
    statuses: Counter[int] = Counter()

    def answered(status: int) -> None:
        statuses[status] += 1

    def client_of(queue: deque[bytes]) -> Callable[[], _Client]:
        return lambda: _Client(queue, answered)

    loop = asyncio.get_running_loop()
    cpu_before = time.process_time()
    started = time.perf_counter()
    clients: list[_Client] = []
    for (address, port), count in share.items():
        queue = queues[(address, port)]
        for _ in range(min(count, len(queue))):
            _, client = await loop.create_connection(client_of(queue), address, port)
            clients.append(client)
    await asyncio.gather(*(c.closed for c in clients))
    seconds = time.perf_counter() - started
    return Ceiling(sum(statuses.values()), seconds, statuses, time.process_time() - cpu_before)
