"""Tiny servers on 127.0.0.1 for client tests: WHOIS (TCP), HTTP (for RDAP) and DNS (UDP).

Each runs inside the test's own event loop and is closed by its async context manager.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset

# --- WHOIS -------------------------------------------------------------------------------------

WhoisHandler = Callable[[str, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class WhoisServer:
    port: int
    queries: list[str] = field(default_factory=list)


def whois_answers(answers: dict[str, bytes], default: bytes = b"No match\r\n") -> WhoisHandler:
    """A handler that answers each query from ``answers`` and closes."""

    async def handle(query: str, writer: asyncio.StreamWriter) -> None:
        writer.write(answers.get(query, default))
        await writer.drain()

    return handle


@contextlib.asynccontextmanager
async def whois_server(handler: WhoisHandler) -> AsyncIterator[WhoisServer]:
    state = WhoisServer(0)
    tasks: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            line = await asyncio.wait_for(reader.readline(), 5)
            query = line.decode("ascii", "replace").strip()
            state.queries.append(query)
            await handler(query, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    state.port = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


@dataclass
class Trap:
    """A listener that must see no connection: it counts every one it accepts."""

    host: str
    port: int = 0
    connections: int = 0


@contextlib.asynccontextmanager
async def trap_server(host: str) -> AsyncIterator[Trap]:
    state = Trap(host)

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.connections += 1
        writer.write(b"+banner of a service registry data must not reach\r\n")
        writer.close()

    server = await asyncio.start_server(accept, host, 0)
    state.port = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        server.close()
        await server.wait_closed()


# --- HTTP --------------------------------------------------------------------------------------


@dataclass
class HttpReply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


HttpHandler = Callable[[str], HttpReply]


@dataclass
class HttpServer:
    port: int
    paths: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


@contextlib.asynccontextmanager
async def http_server(handler: HttpHandler) -> AsyncIterator[HttpServer]:
    state = HttpServer(0)
    tasks: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            path = head.split(b" ")[1].decode("ascii")
            state.paths.append(path)
            reply = handler(path)
            if reply.delay:
                await asyncio.sleep(reply.delay)
            reason = {200: "OK", 302: "Found", 404: "Not Found", 429: "Too Many"}.get(
                reply.status, "X"
            )
            lines = [f"HTTP/1.1 {reply.status} {reason}", f"Content-Length: {len(reply.body)}"]
            lines += [f"{k}: {v}" for k, v in reply.headers.items()]
            lines += ["Content-Type: application/rdap+json", "Connection: close", "", ""]
            writer.write("\r\n".join(lines).encode("ascii") + reply.body)
            await writer.drain()
        except (ConnectionError, asyncio.CancelledError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    state.port = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


# --- DNS ---------------------------------------------------------------------------------------


@dataclass
class Zone:
    """Records served by the loopback DNS server, answered as a recursive resolver would."""

    a: dict[str, list[str]] = field(default_factory=dict)
    aaaa: dict[str, list[str]] = field(default_factory=dict)
    cname: dict[str, str] = field(default_factory=dict)
    servfail: set[str] = field(default_factory=set)
    silent: set[str] = field(default_factory=set)
    queries: list[str] = field(default_factory=list)

    def known(self, name: str) -> bool:
        return name in self.a or name in self.aaaa or name in self.cname

    def answer(self, query: dns.message.Message) -> dns.message.Message | None:
        question = query.question[0]
        name = question.name.to_text().rstrip(".")
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append(f"{name} {rdtype}")
        if name in self.silent:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.RA
        if name in self.servfail:
            response.set_rcode(dns.rcode.SERVFAIL)
            return response
        if not self.known(name):
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response
        current = name
        for _ in range(10):
            target = self.cname.get(current)
            if target is None:
                break
            response.answer.append(
                dns.rrset.from_text(current + ".", 300, "IN", "CNAME", target + ".")
            )
            current = target
        table = self.a if rdtype == "A" else self.aaaa if rdtype == "AAAA" else {}
        addresses = table.get(current, [])
        if addresses:
            response.answer.append(
                dns.rrset.from_text_list(current + ".", 300, "IN", rdtype, addresses)
            )
        return response


class _DnsProtocol(asyncio.DatagramProtocol):
    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        response = self.zone.answer(dns.message.from_wire(data))
        if response is not None and self.transport is not None:
            self.transport.sendto(response.to_wire(), addr)


@contextlib.asynccontextmanager
async def dns_server(zone: Zone) -> AsyncIterator[int]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _DnsProtocol(zone), local_addr=("127.0.0.1", 0)
    )
    try:
        yield transport.get_extra_info("sockname")[1]
    finally:
        transport.close()
