"""WHOIS (the port-43 protocol, RFC 3912) for every named WHOIS server of the world.

Port 43 has no Host header, so each server name (a TLD registry, a registrar, an RIR) listens
on a port of its own; the env file maps names to ports so that referrals reach the sandbox.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass

from sandbox.answers.whois_domain import REFUSAL, registrar_answer, registry_answer
from sandbox.answers.whois_ip import asn_answer, net_answer
from sandbox.faults import Fault, FaultInjector, reset_connection
from sandbox.inflight import InFlight
from sandbox.servers.tcp import TrackedListeners
from sandbox.state import WorldState
from sandbox.world.model import Registrar, Registry, Rir

MAX_QUERY = 1024
QUERY_TIMEOUT = 10.0  # seconds a client has to send its query line

RIR_REFUSALS = {
    "arin": "Query rate limit exceeded. Please try again later.\n",
    "ripe": "%ERROR:201: access denied for 127.0.0.1\n%\n% Queries from your IP address have "
    "passed the daily limit of controlled objects.\n",
    "lacnic": "% Query rate limit exceeded\n",
}


@dataclass(frozen=True, slots=True)
class WhoisService:
    """One named WHOIS server: a TLD registry, a registrar or an RIR."""

    server_name: str
    operator: Registry | Registrar | Rir


def query_subject(raw: bytes) -> str:
    """The object a query line asks about: its last word (flags such as `n +` or `-B` dropped)."""
    words = raw.decode("utf-8", errors="replace").strip().split()
    return words[-1].lower().rstrip(".") if words else ""


def inflight_name(server_name: str) -> str:
    """The name the in-flight counter knows a WHOIS service by (each has a port of its own)."""
    return f"whois:{server_name}"


class WhoisAnswers:
    """Composes each service's answer from the state (the sans-I/O part)."""

    def __init__(self, state: WorldState) -> None:
        self.state = state

    def answer(self, service: WhoisService, subject: str) -> str:
        """The text `service` sends back for `subject`."""
        operator = self.state.index
        now = self.state.clock()
        self.state.advance()
        if isinstance(service.operator, Rir):
            return self._rir_answer(service.operator, subject)
        domain = operator.domains.get(subject)
        suspended = domain is not None and domain.name in self.state.suspended
        if isinstance(service.operator, Registry):
            registry = service.operator
            if domain is not None and domain.tld != registry.tld:
                domain = None
            registrar = operator.registrars.get(domain.registrar) if domain else None
            return registry_answer(
                registry, domain, registrar, query=subject, suspended=suspended, now=now
            )
        return registrar_answer(
            service.operator, domain, query=subject, suspended=suspended, now=now
        )

    def _rir_answer(self, rir: Rir, subject: str) -> str:
        index = self.state.index
        as_number = subject[2:] if subject.startswith("as") else subject
        if as_number.isdigit():
            return asn_answer(rir, index.networks_by_asn.get(int(as_number)), subject.upper())
        try:
            address = ipaddress.ip_network(subject, strict=False).network_address
        except ValueError:
            return net_answer(rir, None, None, subject)
        allocation = index.ranges.find(address)
        owner = index.rirs.get(allocation.holder.rir) if allocation else None
        return net_answer(rir, allocation, owner, subject)


class WhoisServer:
    """All WHOIS services of a world, one loopback port each."""

    def __init__(
        self, state: WorldState, faults: FaultInjector, inflight: InFlight | None = None
    ) -> None:
        self.answers = WhoisAnswers(state)
        self.faults = faults
        self.inflight = inflight or InFlight()
        self.listeners = TrackedListeners()
        self.ports: dict[str, int] = {}

    async def start(self, host: str, services: list[WhoisService], ports: dict[str, int]) -> None:
        """Listen for each service, on `ports[name]` if given, else on a free port."""
        for service in services:

            async def handler(
                reader: asyncio.StreamReader,
                writer: asyncio.StreamWriter,
                service: WhoisService = service,
            ) -> None:
                await self._connection(service, reader, writer)

            port = ports.get(service.server_name, 0)
            self.ports[service.server_name] = await self.listeners.listen(host, port, handler)

    async def _connection(
        self, service: WhoisService, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), QUERY_TIMEOUT)
        except (TimeoutError, ValueError):
            return
        with self.inflight.counting(inflight_name(service.server_name)):
            fault = self.faults.draw()
            await self.faults.delay()
            if fault is Fault.REFUSE:
                reset_connection(writer)
                return
            text = ""
            if fault is Fault.RATE_LIMIT:
                operator = service.operator
                text = RIR_REFUSALS[operator.style] if isinstance(operator, Rir) else REFUSAL
            elif fault is not Fault.TIMEOUT:
                text = self.answers.answer(service, query_subject(line[:MAX_QUERY]))
                if fault is Fault.TRUNCATE:
                    text = text[: max(1, len(text) // 3)]
        if fault is Fault.TIMEOUT:
            # Held silent until the client gives up: no longer a query being answered.
            await asyncio.sleep(self.faults.plan.hold)
            return
        writer.write(text.replace("\n", "\r\n").encode("utf-8"))
        await writer.drain()

    async def close(self) -> None:
        """Stop every service."""
        await self.listeners.close()
