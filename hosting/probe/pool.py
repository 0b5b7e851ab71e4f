"""Keep-alive connections of the probe, kept per (address, port, TLS name).

A recheck batch asks the same hosting servers many times; a fresh TCP (and TLS) connection per
URL costs both sides far more than the request. An idle connection is only ever reused for the
same checked address and the same TLS server name it was opened and verified for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hosting.probe.fetch import Connector

PoolKey = tuple[str, int, str | None]


@dataclass(slots=True)
class Connection:
    """One open connection to a checked address."""

    key: PoolKey
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    reused: bool = False
    idle_since: float = field(default=0.0)

    def abort(self) -> None:
        """Drop the connection and any bytes in flight."""
        self.writer.transport.abort()


class ConnectionPool:
    """Opens connections through a connector and keeps a few idle ones for reuse."""

    def __init__(
        self,
        connector: Connector,
        *,
        max_idle_per_key: int = 16,
        idle_seconds: float = 4.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.connector = connector
        self.max_idle_per_key = max_idle_per_key
        # Shorter than the usual server keep-alive timeouts (5 s and up), so rarely stale.
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._idle: dict[PoolKey, list[Connection]] = {}

    async def connect(self, address: str, port: int, server_name: str | None) -> Connection:
        """An idle connection to exactly this address and name, or a new one."""
        key = (address, port, server_name)
        idle = self._idle.get(key)
        now = self._clock()
        while idle:
            connection = idle.pop()
            if (
                now - connection.idle_since < self.idle_seconds
                and not connection.reader.at_eof()
                and not connection.writer.transport.is_closing()
            ):
                connection.reused = True
                return connection
            connection.abort()
        reader, writer = await self.connector.connect(address, port, server_name=server_name)
        return Connection(key, reader, writer)

    def release(self, connection: Connection, reusable: bool) -> None:
        """Give a connection back after a complete answer; it is kept only if ``reusable``."""
        idle = self._idle.setdefault(connection.key, [])
        if not reusable or len(idle) >= self.max_idle_per_key:
            connection.abort()
            if not idle:
                del self._idle[connection.key]
            return
        connection.idle_since = self._clock()
        idle.append(connection)

    def close(self) -> None:
        """Drop every idle connection."""
        for idle in self._idle.values():
            for connection in idle:
                connection.abort()
        self._idle.clear()
