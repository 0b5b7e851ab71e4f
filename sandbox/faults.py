"""Injected latency and failures, so the engine's retries and limits meet a bad day on purpose.

Each server asks its `FaultInjector` once per query. The draw is seeded, so a given plan and
query order fail the same queries every run.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
from enum import Enum

from sandbox.world.model import FaultPlan


class Fault(Enum):
    """What happens to one query."""

    NONE = "none"
    TIMEOUT = "timeout"  # say nothing; keep the connection open until the client gives up
    REFUSE = "refuse"  # reset the connection (DNS: REFUSED)
    TRUNCATE = "truncate"  # a WHOIS answer cut short; a UDP DNS answer with TC set
    RATE_LIMIT = "rate_limit"  # RDAP 429, WHOIS refusal text, DNS REFUSED


class FaultInjector:
    """Draws the fault of each query from a `FaultPlan`; the plan can be swapped at run time."""

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self.set_plan(plan or FaultPlan())

    def set_plan(self, plan: FaultPlan) -> None:
        """Use `plan` from the next query on (and restart its seeded draw)."""
        self.plan = plan
        self._random = random.Random(plan.seed)

    def draw(self) -> Fault:
        """The fault for the next query."""
        plan = self.plan
        if not (
            plan.timeout_share or plan.refuse_share or plan.truncate_share or plan.rate_limit_share
        ):
            return Fault.NONE
        roll = self._random.random()
        for share, fault in (
            (plan.timeout_share, Fault.TIMEOUT),
            (plan.refuse_share, Fault.REFUSE),
            (plan.truncate_share, Fault.TRUNCATE),
            (plan.rate_limit_share, Fault.RATE_LIMIT),
        ):
            if roll < share:
                return fault
            roll -= share
        return Fault.NONE

    async def delay(self) -> None:
        """Wait the plan's per-query delay."""
        if self.plan.delay > 0:
            await asyncio.sleep(self.plan.delay)


def reset_connection(writer: asyncio.StreamWriter) -> None:
    """Drop a TCP connection with a reset, as a refusing or overloaded server does."""
    reset_transport(writer.transport)


def reset_transport(transport: asyncio.WriteTransport) -> None:
    """:func:`reset_connection` for a protocol's transport."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # Linger on with a zero timeout turns close() into an RST.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
