"""How many queries each server is answering at once, and the most it ever was.

A client that promises "at most N queries at once to one server" is checked here, on the
server's side, where the promise matters. A query counts from the moment its server has read it
to the moment the answer is handed to the socket (so a client that frees its slot on reading
the answer can never make the count overlap by itself). DNS counts as one server (its one
port), RDAP as one (its one port), each WHOIS service as its own (a port each).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(slots=True)
class ServerLoad:
    """One server's count: answering now, the most at once, and queries in all."""

    now: int = 0
    peak: int = 0
    total: int = 0


class InFlight:
    """Counts per server name; used from the sandbox's own event loop only."""

    def __init__(self) -> None:
        self._servers: dict[str, ServerLoad] = {}

    def enter(self, server: str) -> None:
        """A query to ``server`` was read and is being answered."""
        load = self._servers.get(server)
        if load is None:
            load = self._servers[server] = ServerLoad()
        load.now += 1
        load.total += 1
        load.peak = max(load.peak, load.now)

    def leave(self, server: str) -> None:
        """The answer (or the silence) of one query to ``server`` is settled."""
        self._servers[server].now -= 1

    @contextmanager
    def counting(self, server: str) -> Iterator[None]:
        """Count the block as one query to ``server``."""
        self.enter(server)
        try:
            yield
        finally:
            self.leave(server)

    def snapshot(self) -> dict[str, dict[str, int]]:
        """``{server: {"peak", "total", "now"}}`` for every server asked so far."""
        return {
            name: {"peak": load.peak, "total": load.total, "now": load.now}
            for name, load in sorted(self._servers.items())
        }

    def reset(self) -> None:
        """Start counting afresh (queries being answered now are kept)."""
        self._servers = {
            name: ServerLoad(now=load.now, peak=load.now)
            for name, load in self._servers.items()
            if load.now
        }
