"""Small real servers on loopback for the probe's tests: HTTP(S) content hosts and a DNS resolver.

Each runs its own event loop on a background thread, so both async probe tests and threaded
recheck runs can talk to it, and counts every request it sees.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

from hosting.probe.fetch import TcpConnector

START_TIMEOUT = 10.0


class _Loop:
    """An event loop on a thread, started and stopped with the server using it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True, name="loopback")
        self.tasks: set[asyncio.Task[Any]] = set()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def start(self) -> None:
        self.thread.start()

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(START_TIMEOUT)

    def stop(self, closing: Any) -> None:
        async def shutdown() -> None:
            await closing()
            for task in list(self.tasks):
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)

        self.call(shutdown())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(START_TIMEOUT)
        self.loop.close()


# --- HTTP --------------------------------------------------------------------------------------


@dataclass
class Route:
    """What a path answers."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    hang: bool = False
    """Never answer (the client must give up)."""
    stream_bytes: int = 0
    """Send this many bytes of body (announced by Content-Length) instead of ``body``."""
    chunked: bool = False


class WebServer:
    """An HTTP/1.1 server on one loopback address; TLS when given a context."""

    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.tls = tls
        self.port = 0
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str, str]] = []
        """(Host header, path, User-Agent) of every request, in arrival order."""
        self.connections = 0
        self.keep_alive_limit = 0
        """Answers per connection when the client asks for keep-alive; 0: close after one."""
        self._lock = threading.Lock()
        self._loop = _Loop()
        self._server: asyncio.Server | None = None

    def __enter__(self) -> WebServer:
        self._loop.start()
        self._server = self._loop.call(
            asyncio.start_server(self._serve, self.host, 0, ssl=self.tls)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *_: object) -> None:
        async def close() -> None:
            assert self._server is not None
            self._server.close()
            await self._server.wait_closed()

        self._loop.stop(close)

    def url(self, path: str, host: str | None = None, scheme: str | None = None) -> str:
        name = host or (f"[{self.host}]" if ":" in self.host else self.host)
        return f"{scheme or ('https' if self.tls else 'http')}://{name}:{self.port}{path}"

    def paths(self) -> Counter[str]:
        with self._lock:
            return Counter(path for _, path, _ in self.requests)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._loop.tasks.add(task)
        with self._lock:
            self.connections += 1
        try:
            for served in range(1, 1000):
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                with self._lock:
                    self.requests.append(
                        (headers.get("host", ""), path, headers.get("user-agent", ""))
                    )
                # Keep-alive when asked for and allowed; ``keep_alive_limit`` answers per
                # connection, after which it is closed silently (as an idle timeout does).
                again = self.keep_alive_limit > served and (
                    headers.get("connection", "").lower() == "keep-alive"
                )
                route = self.routes.get(path, Route(404, b"not here"))
                await self._answer(route, writer, keep_alive=self.keep_alive_limit > 0)
                if not again:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError, ssl.SSLError):
            pass
        finally:
            self._loop.tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(
        self, route: Route, writer: asyncio.StreamWriter, keep_alive: bool = False
    ) -> None:
        if route.hang:
            await asyncio.sleep(3600)
        if route.delay:
            await asyncio.sleep(route.delay)
        headers = dict(route.headers)
        if route.chunked:
            headers["Transfer-Encoding"] = "chunked"
        else:
            headers["Content-Length"] = str(route.stream_bytes or len(route.body))
        lines = [f"HTTP/1.1 {route.status} X"] + [f"{k}: {v}" for k, v in headers.items()]
        connection = "keep-alive" if keep_alive else "close"
        writer.write(("\r\n".join([*lines, f"Connection: {connection}", "", ""])).encode("latin-1"))
        if route.chunked:
            for start in range(0, len(route.body), 1000):
                piece = route.body[start : start + 1000]
                writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            writer.write(b"0\r\n\r\n")
        elif route.stream_bytes:
            block = b"x" * 65536
            for _ in range(route.stream_bytes // len(block)):
                writer.write(block)
                await writer.drain()
        else:
            writer.write(route.body)
        await writer.drain()


def closed_port(host: str = "127.0.0.1") -> int:
    """A port on ``host`` that nothing listens on (connections are refused)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port


# --- DNS ---------------------------------------------------------------------------------------


@dataclass
class Zone:
    """Names the loopback resolver knows; everything else is NXDOMAIN."""

    a: dict[str, list[str]] = field(default_factory=dict)
    aaaa: dict[str, list[str]] = field(default_factory=dict)
    ns: dict[str, list[str]] = field(default_factory=dict)

    def answer(self, query: dns.message.Message) -> dns.message.Message:
        question = query.question[0]
        name = question.name.to_text().rstrip(".").lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.RA
        if name not in self.a and name not in self.aaaa and name not in self.ns:
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response
        table = {"A": self.a, "AAAA": self.aaaa, "NS": self.ns}.get(rdtype, {})
        values = table.get(name, [])
        if values:
            texts = [v + "." if rdtype == "NS" else v for v in values]
            response.answer.append(dns.rrset.from_text_list(name + ".", 60, "IN", rdtype, texts))
        return response

    def datagrams(self, query: dns.message.Message) -> list[dns.message.Message]:
        """What the server sends back to ``query``, in order: its answer (a test's zone may
        stay silent, or send something before it)."""
        return [self.answer(query)]


class _DnsProtocol(asyncio.DatagramProtocol):
    def __init__(self, zone: Zone, asked: list[str]) -> None:
        self.zone = zone
        self.asked = asked
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        query = dns.message.from_wire(data)
        self.asked.append(query.question[0].name.to_text())
        for message in self.zone.datagrams(query):
            if self.transport is not None:
                self.transport.sendto(message.to_wire(), addr)


class DnsServer:
    """A UDP resolver on 127.0.0.1 answering from a :class:`Zone`."""

    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        self.asked: list[str] = []
        self.port = 0
        self._loop = _Loop()
        self._transport: asyncio.DatagramTransport | None = None

    def __enter__(self) -> DnsServer:
        self._loop.start()

        async def open_endpoint() -> asyncio.DatagramTransport:
            transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                lambda: _DnsProtocol(self.zone, self.asked), local_addr=("127.0.0.1", 0)
            )
            return transport

        self._transport = self._loop.call(open_endpoint())
        self.port = self._transport.get_extra_info("sockname")[1]
        return self

    def __exit__(self, *_: object) -> None:
        async def close() -> None:
            if self._transport is not None:
                self._transport.close()

        self._loop.stop(close)

    @property
    def nameservers(self) -> str:
        """The ``TAKEDOWN_DNS_NAMESERVERS`` value pointing at this server."""
        return f"127.0.0.1:{self.port}"


# --- TLS and a recording transport -------------------------------------------------------------


@dataclass
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts only this (self-signed) certificate."""
        context = ssl.create_default_context(cafile=str(self.cert))
        return context


def self_signed(folder: Path, name: str) -> Certificate:
    """A self-signed certificate for ``name`` (and 127.0.0.1)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(cert_path, key_path)


class RecordingConnector:
    """The real TCP connector for loopback addresses, recording every address it is asked for.

    Any other address is recorded and refused without touching the network, so a test can show
    that the probe would (or would not) have connected there.
    """

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.inner = TcpConnector(ssl_context)
        self.attempts: list[tuple[str, int]] = []

    async def connect(
        self, address: str, port: int, *, server_name: str | None
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self.attempts.append((address, port))
        if not ipaddress.ip_address(address).is_loopback:
            raise ConnectionRefusedError("tests never leave loopback")
        return await self.inner.connect(address, port, server_name=server_name)
