"""One HTTP/1.1 exchange of the removal probe: connect to a checked address, GET, hash, discard.

The probe does not use a general HTTP client, because it must connect to the very address it
checked (not to whatever a second lookup of the name returns) while still sending the name in
the Host header and in TLS SNI, and it must never keep a body. The body is streamed through
SHA-256 chunk by chunk, up to a byte cap, and dropped.

The connector is the transport: tests and deployments hand in their own (a TLS context with a
private CA, a recording wrapper), as with httpx transports.
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from dataclasses import dataclass
from typing import Protocol

READ_CHUNK = 64 * 1024
MAX_HEADER_LINES = 100
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DRAIN_LIMIT = 64 * 1024
"""Largest body of a refusal or redirect read (and dropped) to keep its connection open."""


class ProtocolViolation(Exception):
    """The server's answer is not HTTP/1.x as the probe reads it."""


class Connector(Protocol):
    """Opens a connection to one address; TLS when ``server_name`` is given."""

    async def connect(
        self, address: str, port: int, *, server_name: str | None
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connected stream pair, or an ``OSError`` / ``ssl.SSLError`` saying why not."""
        ...


class TcpConnector:
    """Plain TCP, or TLS verified against the URL's host name with ``ssl_context``."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl = ssl_context

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            # Built lazily: loading the system's CAs costs time that plain-HTTP probes need not pay.
            self._ssl = ssl.create_default_context()
        return self._ssl

    async def connect(
        self, address: str, port: int, *, server_name: str | None
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Connect to ``address`` itself; the name only goes into SNI and the certificate check."""
        if server_name is None:
            return await asyncio.open_connection(address, port, limit=READ_CHUNK)
        return await asyncio.open_connection(
            address, port, ssl=self._context(), server_hostname=server_name, limit=READ_CHUNK
        )


@dataclass(frozen=True, slots=True)
class Exchange:
    """What one response was, without its body."""

    status: int
    location: str | None
    sha256: str | None
    """Digest of the whole body; None when the body was not read or passed the byte cap."""
    bytes_read: int
    capped: bool
    reusable: bool = False
    """The connection may carry another request (keep-alive, and the answer was read whole)."""


def request_head(target: str, host_header: str, user_agent: str, keep_alive: bool = False) -> bytes:
    """The request the probe sends: a plain browser-like GET."""
    lines = [
        f"GET {target} HTTP/1.1",
        f"Host: {host_header}",
        f"User-Agent: {user_agent}",
        "Accept: */*",
        # The confirmed digest is of the item itself, not of a compressed transfer of it.
        "Accept-Encoding: identity",
        f"Connection: {'keep-alive' if keep_alive else 'close'}",
        "",
        "",
    ]
    # Only the three values can carry a control character: the rest is fixed text. Checking
    # them one by one also catches a CR LF pair inside a value (header injection).
    for value in (target, host_header, user_agent):
        if "\r" in value or "\n" in value or "\x00" in value:
            raise ValueError("a request header would contain a control character")
    return "\r\n".join(lines).encode("ascii")


class ClosedWithoutAnswer(ProtocolViolation):
    """The server closed the connection before a byte of the answer (a stale keep-alive)."""


async def _read_line(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.readuntil(b"\n")
    except asyncio.LimitOverrunError:
        raise ProtocolViolation("a response header line is too long") from None
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise ProtocolViolation("the response ended inside its header") from None
        raise ClosedWithoutAnswer("the server closed the connection without answering") from None


async def _read_head(reader: asyncio.StreamReader) -> tuple[str, int, dict[str, str]]:
    while True:
        try:
            # One read for the whole head: the stream's limit caps its size.
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            raise ProtocolViolation("the response header is too long") from None
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                raise ProtocolViolation("the response ended inside its header") from None
            raise ClosedWithoutAnswer(
                "the server closed the connection without answering"
            ) from None
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise ProtocolViolation("the answer is not an HTTP/1.x response")
        if len(lines) > MAX_HEADER_LINES + 3:
            raise ProtocolViolation("too many response headers")
        status = int(parts[1])
        headers: dict[str, str] = {}
        for line in lines[1:-2]:
            name, sep, value = line.partition(":")
            if not sep:
                raise ProtocolViolation("a response header has no ':'")
            key = name.strip().lower()
            # Repeated headers: the first Location wins; lengths must agree.
            if key in headers and key == "content-length" and headers[key] != value.strip():
                raise ProtocolViolation("conflicting Content-Length headers")
            headers.setdefault(key, value.strip())
        if not 100 <= status < 200:
            return parts[0], status, headers
        # 1xx interim answers carry no body: the real response follows.


class _Digest:
    def __init__(self, cap: int) -> None:
        self.hash = hashlib.sha256()
        self.count = 0
        self.cap = cap
        self.capped = False

    def feed(self, data: bytes) -> bool:
        """Hash ``data`` and forget it; False once the cap is passed."""
        self.count += len(data)
        if self.count > self.cap:
            self.capped = True
            self.count = self.cap
            return False
        self.hash.update(data)
        return True


async def _read_exactly(reader: asyncio.StreamReader, length: int, digest: _Digest) -> bool:
    remaining = length
    while remaining > 0:
        data = await reader.read(min(READ_CHUNK, remaining))
        if not data:
            raise ProtocolViolation("the body ended before its announced length")
        remaining -= len(data)
        if not digest.feed(data):
            return False
    return True


async def _read_chunked(reader: asyncio.StreamReader, digest: _Digest) -> bool:
    while True:
        size_line = (await _read_line(reader)).split(b";", 1)[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise ProtocolViolation("a chunk size is not a number") from None
        if size == 0:
            for _ in range(MAX_HEADER_LINES):  # trailers, up to the empty line
                if await _read_line(reader) in (b"\r\n", b"\n"):
                    return True
            raise ProtocolViolation("too many trailer lines")
        if not await _read_exactly(reader, size, digest):
            return False
        await _read_line(reader)


async def _read_body(
    reader: asyncio.StreamReader, headers: dict[str, str], digest: _Digest
) -> bool:
    """Hash the body; True when it was read whole and the connection is at the next answer."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return await _read_chunked(reader, digest)
    length_text = headers.get("content-length")
    if length_text is not None:
        if not length_text.isdigit():
            raise ProtocolViolation("the Content-Length is not a number")
        return await _read_exactly(reader, int(length_text), digest)
    while data := await reader.read(READ_CHUNK):  # no length: the body ends with the connection
        if not digest.feed(data):
            break
    return False


async def exchange(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    target: str,
    host_header: str,
    user_agent: str,
    max_bytes: int,
    keep_alive: bool = False,
) -> Exchange:
    """Send one GET and read the answer; only a 2xx body is hashed, and every byte is dropped."""
    writer.write(request_head(target, host_header, user_agent, keep_alive))
    await writer.drain()
    version, status, headers = await _read_head(reader)
    location = headers.get("location")
    persistent = (
        keep_alive and version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    )
    if status in (204, 205, 304):
        return Exchange(status, location, None, 0, False, persistent)
    if not 200 <= status < 300:
        # Judged by the status alone. A short body is skipped so the connection can be reused.
        length = headers.get("content-length", "")
        if persistent and length.isdigit() and int(length) <= DRAIN_LIMIT:
            await _read_exactly(reader, int(length), _Digest(DRAIN_LIMIT))
            return Exchange(status, location, None, 0, False, True)
        return Exchange(status, location, None, 0, False, False)
    digest = _Digest(max_bytes)
    whole = await _read_body(reader, headers, digest)
    sha = None if digest.capped else digest.hash.hexdigest()
    return Exchange(status, location, sha, digest.count, digest.capped, persistent and whole)
