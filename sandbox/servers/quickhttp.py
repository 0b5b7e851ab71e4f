"""The content hosts' HTTP/1.1 server, as plain asyncio protocols.

A recheck benchmark sends the content hosts a hundred thousand requests; they share the machine's
CPU with the engine being measured. :class:`~sandbox.servers.httpd.HttpServer` runs a task, two
stream objects and a timeout scope per connection and reads line by line; here a connection is
one protocol object that parses a whole head from its buffer, and a delayed answer is one timer
(no task, no coroutine). It speaks the same HTTP as ``httpd`` (the same parsing limits and
answers, keep-alive, HEAD, pipelined requests in order, 400 for what is not HTTP/1.x) and hands
the handler the same :class:`~sandbox.servers.httpd.Request`.

The handler answers at once (a :class:`Response`), later (:class:`Later`: after a delay, with
what it decides then) or never (``None`` from a :class:`Later`: the connection is closed).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast
from urllib.parse import parse_qs, unquote, urlsplit

from sandbox.faults import reset_transport
from sandbox.servers.httpd import (
    KEEP_ALIVE_IDLE,
    MAX_BODY,
    MAX_HEADERS,
    Request,
    Response,
    encode_response,
)
from sandbox.servers.tcp import STREAM_LIMIT

SWEEP_SECONDS = 5.0
"""How often idle keep-alive connections are looked for (one timer for the whole server)."""
BAD_REQUEST = encode_response(Response(400, b"bad request\n"), False, False)


@dataclass(frozen=True, slots=True)
class Later:
    """Answer after ``delay`` seconds with whatever ``answer`` returns then (None: hang up)."""

    delay: float
    answer: Callable[[], Response | None]


QuickHandler = Callable[[Request], "Response | Later"]


class _BadRequest(ValueError):
    pass


def _parse_head(head: bytes, local: str) -> tuple[Request, int]:
    """The request of a whole head (without its blank line) and the length of its body."""
    lines = head.decode("latin-1").split("\n")
    try:
        method, target, version = lines[0].rstrip("\r").split(" ")
    except ValueError:
        raise _BadRequest("malformed request line") from None
    if not version.startswith("HTTP/1."):
        raise _BadRequest("not HTTP/1.x")
    if len(lines) > MAX_HEADERS:
        raise _BadRequest("too many headers")
    headers: dict[str, str] = {"_version": version}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    try:
        length = int(headers.get("content-length", "0") or 0)
    except ValueError:
        raise _BadRequest("bad Content-Length") from None
    if length > MAX_BODY or length < 0:
        raise _BadRequest("body too large")
    if target[:1] == "/" and "?" not in target and "#" not in target and "%" not in target:
        # What urlsplit and unquote would make of it, without their cost.
        path, query = target, {}
    else:
        parts = urlsplit(target)
        path, query = unquote(parts.path), parse_qs(parts.query) if parts.query else {}
    request = Request(
        method=method.upper(),
        path=path,
        raw_path=target,
        query=query,
        headers=headers,
        body=b"",
        local_address=local,
    )
    return request, length


def _head_end(buffer: bytearray) -> tuple[int, int]:
    """Where the head in ``buffer`` ends and its body starts; (-1, -1) while incomplete."""
    crlf = buffer.find(b"\r\n\r\n")
    lf = buffer.find(b"\n\n")
    if lf != -1 and (crlf == -1 or lf < crlf):
        return lf, lf + 2
    if crlf != -1:
        return crlf, crlf + 4
    return -1, -1


class _Connection(asyncio.Protocol):
    """One client connection: requests parsed from the buffer and answered one at a time."""

    def __init__(self, server: QuickHttpServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.local = ""
        self.buffer = bytearray()
        self.waiting: asyncio.TimerHandle | None = None
        """The timer of a delayed answer; no other request is read meanwhile."""
        self.last_active = time.monotonic()
        self.eof = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without inheriting from it.
        self.transport = cast(asyncio.Transport, transport)
        self.local = str(self.transport.get_extra_info("sockname")[0])
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        if self.waiting is not None:
            self.waiting.cancel()
            self.waiting = None
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self.last_active = time.monotonic()
        if self.waiting is None:
            self._serve()

    def eof_received(self) -> bool:
        # A client that has said all it will: a pending answer is still sent, then closed.
        self.eof = True
        if self.waiting is None:
            self._serve()
        return True

    def idle_for(self, now: float) -> float:
        return 0.0 if self.waiting is not None else now - self.last_active

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def _serve(self) -> None:
        """Answer every whole request in the buffer, in order, until one has to wait."""
        while self.transport is not None and self.waiting is None:
            end, body_start = _head_end(self.buffer)
            if end == -1:
                if len(self.buffer) - self.buffer.rfind(b"\n") - 1 > STREAM_LIMIT:
                    self.transport.abort()  # a line longer than httpd reads: dropped there too
                elif self.eof:
                    self.transport.close()  # the client has said all it will
                return
            try:
                request, length = _parse_head(bytes(self.buffer[:end]), self.local)
            except _BadRequest:
                self.transport.write(BAD_REQUEST)
                self.transport.close()
                return
            if len(self.buffer) < body_start + length:
                return  # the body is still on its way
            if length:
                body = bytes(self.buffer[body_start : body_start + length])
                request = Request(
                    request.method,
                    request.path,
                    request.raw_path,
                    request.query,
                    request.headers,
                    body,
                    request.local_address,
                )
            del self.buffer[: body_start + length]
            answer = self.server.handler(request)
            if isinstance(answer, Later):
                self.waiting = asyncio.get_running_loop().call_later(
                    answer.delay, self._answer_later, request, answer
                )
                return
            self._send(request, answer)

    def _answer_later(self, request: Request, later: Later) -> None:
        self.waiting = None
        if self.transport is None:
            return
        self._send(request, later.answer())
        self.last_active = time.monotonic()
        self._serve()

    def _send(self, request: Request, response: Response | None) -> None:
        transport = self.transport
        assert transport is not None
        if response is None:
            transport.close()  # held silent as long as the handler wanted
            return
        if response.reset:
            reset_transport(transport)
            return
        keep_alive = (
            request.headers["_version"] == "HTTP/1.1"
            and request.headers.get("connection", "").lower() != "close"
        )
        transport.write(encode_response(response, request.method == "HEAD", keep_alive))
        if not keep_alive:
            transport.close()


class QuickHttpServer:
    """Serves one handler on any number of addresses."""

    def __init__(self, handler: QuickHandler) -> None:
        self.handler = handler
        self.connections: set[_Connection] = set()
        self._servers: list[asyncio.Server] = []
        self._sweeper: asyncio.TimerHandle | None = None

    async def listen(self, host: str, port: int) -> int:
        """Listen on host:port (0 picks one); return the port."""
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Connection(self), host, port, reuse_address=True)
        self._servers.append(server)
        if self._sweeper is None:
            self._sweeper = loop.call_later(SWEEP_SECONDS, self._sweep)
        return int(server.sockets[0].getsockname()[1])

    def _sweep(self) -> None:
        """Close the keep-alive connections idle for longer than ``KEEP_ALIVE_IDLE``."""
        now = time.monotonic()
        for connection in [c for c in self.connections if c.idle_for(now) > KEEP_ALIVE_IDLE]:
            connection.abort()
        self._sweeper = asyncio.get_running_loop().call_later(SWEEP_SECONDS, self._sweep)

    async def close(self) -> None:
        """Stop listening and close every connection."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for server in self._servers:
            server.close()
        for connection in list(self.connections):
            connection.abort()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()
