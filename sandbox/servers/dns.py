"""The world's DNS: one recursive-looking resolver over UDP and TCP on one port.

It answers as the resolver a client would be configured with (RA set) from the world's
authoritative data: A, AAAA, CNAME chains, NS, PTR, TXT; NXDOMAIN for unknown or suspended
names and SERVFAIL for domains whose world entry says their name servers fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Coroutine
from typing import Any, cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from sandbox.faults import Fault, FaultInjector
from sandbox.inflight import InFlight
from sandbox.servers.tcp import TrackedListeners
from sandbox.state import MAX_CNAME_CHAIN, WorldState

TTL = 60
NEGATIVE_TTL = 30
TCP_IDLE = 10.0  # seconds a DNS-over-TCP connection may sit idle
CACHE_ENTRIES = 100_000  # answers kept before the cache starts over
INFLIGHT_NAME = "dns"  # the name the in-flight counter knows this server by


class DnsResolver:
    """Answers DNS queries in wire format from a `WorldState` (the sans-I/O part)."""

    def __init__(self, state: WorldState, faults: FaultInjector) -> None:
        self.state = state
        self.faults = faults
        # Answers by query bytes after the ID; valid while the state version stays the same.
        self._cache: dict[tuple[bytes, bool], bytes] = {}
        self._cache_version = -1

    def answer(self, wire: bytes, fault: Fault, over_udp: bool) -> bytes | None:
        """The response to `wire`, or None when nothing should be sent back."""
        if fault is not Fault.NONE or len(wire) < 12:
            return self._answer(wire, fault, over_udp)
        self.state.advance()
        if self._cache_version != self.state.version or len(self._cache) > CACHE_ENTRIES:
            self._cache.clear()
            self._cache_version = self.state.version
        key = (wire[2:], over_udp)
        cached = self._cache.get(key)
        if cached is None:
            response = self._answer(wire, fault, over_udp)
            if response is None:
                return None
            self._cache[key] = response[2:]
            return response
        return wire[:2] + cached

    def _answer(self, wire: bytes, fault: Fault, over_udp: bool) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        if fault is Fault.TIMEOUT or not query.question:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.RA
        if fault in (Fault.REFUSE, Fault.RATE_LIMIT):
            response.set_rcode(dns.rcode.REFUSED)
        elif fault is Fault.TRUNCATE and over_udp:
            response.flags |= dns.flags.TC
        else:
            question = query.question[0]
            self._resolve(response, question.name, question.rdtype)
        return response.to_wire()

    def _resolve(self, response: dns.message.Message, qname: dns.name.Name, qtype: int) -> None:
        name = qname.to_text(omit_final_dot=True).lower()
        if name.endswith((".in-addr.arpa", ".ip6.arpa")):
            target = self.state.index.ptr.get(name)
            if target is None or qtype not in (dns.rdatatype.PTR, dns.rdatatype.ANY):
                response.set_rcode(dns.rcode.NXDOMAIN if target is None else dns.rcode.NOERROR)
                return
            response.answer.append(_rrset(qname, dns.rdatatype.PTR, [target + "."]))
            return
        owner = qname
        for _ in range(MAX_CNAME_CHAIN):
            status, domain = self.state.name_status(name)
            if status != "ok":
                code = dns.rcode.NXDOMAIN if status == "nxdomain" else dns.rcode.SERVFAIL
                response.set_rcode(code)
                return
            records = self.state.records.get(name)
            if records is None:
                is_apex = domain is not None and domain.name == name
                if not is_apex:
                    response.set_rcode(dns.rcode.NXDOMAIN)
                    self._add_soa(response, domain)
                    return
            if records is not None and records.cname is not None and qtype != dns.rdatatype.CNAME:
                response.answer.append(_rrset(owner, dns.rdatatype.CNAME, [records.cname + "."]))
                name = records.cname
                owner = dns.name.from_text(name)
                continue
            values: list[str] = []
            if qtype == dns.rdatatype.NS and domain is not None and domain.name == name:
                values = [ns + "." for ns in domain.nameservers]
            elif records is not None:
                if qtype == dns.rdatatype.A:
                    values = list(records.a)
                elif qtype == dns.rdatatype.AAAA:
                    values = list(records.aaaa)
                elif qtype == dns.rdatatype.CNAME and records.cname is not None:
                    values = [records.cname + "."]
                elif qtype == dns.rdatatype.TXT:
                    values = ['"' + t.replace('"', '\\"') + '"' for t in records.txt]
            if values:
                response.answer.append(_rrset(owner, qtype, values))
            else:
                self._add_soa(response, domain)
            return
        response.set_rcode(dns.rcode.SERVFAIL)  # a CNAME chain longer than any resolver follows

    def _add_soa(self, response: dns.message.Message, domain: object) -> None:
        zone = getattr(domain, "name", None)
        if zone is None:
            return
        soa = f"ns1.{zone}. hostmaster.{zone}. 2026010101 3600 600 86400 {NEGATIVE_TTL}"
        rrset = dns.rrset.from_text(zone + ".", NEGATIVE_TTL, "IN", "SOA", soa)
        response.authority.append(rrset)


def _rrset(owner: dns.name.Name, rdtype: int, values: list[str]) -> dns.rrset.RRset:
    return dns.rrset.from_text_list(
        owner, TTL, dns.rdataclass.IN, dns.rdatatype.RdataType.make(rdtype), values
    )


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        self.server.inflight.enter(INFLIGHT_NAME)
        fault = self.server.faults.draw()
        if self.server.faults.plan.delay > 0:
            self.server.spawn(self._answer_later(data, addr, fault))
            return
        self._send(self.server.resolver.answer(data, fault, over_udp=True), addr)

    async def _answer_later(
        self, data: bytes, addr: tuple[str | object, int], fault: Fault
    ) -> None:
        try:
            await self.server.faults.delay()
        except BaseException:
            self.server.inflight.leave(INFLIGHT_NAME)
            raise
        self._send(self.server.resolver.answer(data, fault, over_udp=True), addr)

    def _send(self, wire: bytes | None, addr: tuple[str | object, int]) -> None:
        self.server.inflight.leave(INFLIGHT_NAME)
        if wire is not None and self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(wire, addr)


class DnsServer:
    """DNS over UDP and TCP on one loopback port."""

    def __init__(
        self, state: WorldState, faults: FaultInjector, inflight: InFlight | None = None
    ) -> None:
        self.faults = faults
        self.inflight = inflight or InFlight()
        self.resolver = DnsResolver(state, faults)
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp = TrackedListeners()
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run a delayed answer in the background, remembered so that close() can cancel it."""
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self, host: str, port: int) -> int:
        """Listen on host:port for UDP and TCP (0 picks a port free for both); return it."""
        loop = asyncio.get_running_loop()
        for _ in range(20):
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self), local_addr=(host, port)
            )
            bound = int(transport.get_extra_info("sockname")[1])
            try:
                await self._tcp.listen(host, bound, self._tcp_connection)
            except OSError:
                transport.close()
                if port:
                    raise
                continue  # the UDP port was taken on TCP: try another
            self._udp = transport
            return bound
        raise OSError("no port free for both UDP and TCP")

    async def _tcp_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while True:
            try:
                prefix = await asyncio.wait_for(reader.readexactly(2), TCP_IDLE)
            except (TimeoutError, asyncio.IncompleteReadError):
                return
            (length,) = struct.unpack("!H", prefix)
            wire = await reader.readexactly(length)
            with self.inflight.counting(INFLIGHT_NAME):
                fault = self.faults.draw()
                await self.faults.delay()
                answer = None
                if fault is not Fault.TIMEOUT:
                    answer = self.resolver.answer(wire, fault, over_udp=False)
            if fault is Fault.TIMEOUT:
                # Held silent until the client gives up: no longer a query being answered.
                await asyncio.sleep(self.faults.plan.hold)
                return
            if answer is None:
                return
            writer.write(struct.pack("!H", len(answer)) + answer)
            await writer.drain()

    async def close(self) -> None:
        """Stop both transports and any delayed answers."""
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._udp is not None:
            self._udp.close()
        await self._tcp.close()
