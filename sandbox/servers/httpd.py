"""A small HTTP/1.1 server for the sandbox's RDAP, content and inspection endpoints.

Just enough of the protocol for real clients (curl, httpx): request line, headers, a bounded
body, keep-alive, HEAD. Each connection knows the local address it arrived on, which is how a
content host tells which of its addresses was asked.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import lru_cache
from http import HTTPStatus
from urllib.parse import parse_qs, unquote, urlsplit

from sandbox.faults import reset_connection
from sandbox.servers.tcp import TrackedListeners

MAX_HEADERS = 100
MAX_BODY = 1 << 20
KEEP_ALIVE_IDLE = 30.0  # seconds an idle keep-alive connection is kept


@dataclass(frozen=True, slots=True)
class Request:
    """One parsed HTTP request."""

    method: str
    path: str  # decoded path, without the query
    raw_path: str  # path and query as sent
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    local_address: str  # the address the connection arrived on

    @property
    def host(self) -> str:
        """The Host header without its port, lower case."""
        host = self.headers.get("host", "")
        if host.startswith("["):
            return host[1 : host.find("]")].lower()
        return host.rsplit(":", 1)[0].lower() if ":" in host else host.lower()


@dataclass(slots=True)
class Response:
    """An HTTP response; a `None` response means: answer nothing (an injected fault)."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/plain; charset=utf-8"
    reset: bool = False  # drop the connection with a reset instead of answering

    @classmethod
    def json(
        cls, value: object, status: int = 200, content_type: str = "application/json"
    ) -> Response:
        """A JSON response."""
        body = json.dumps(value, ensure_ascii=False, indent=None).encode("utf-8")
        return cls(status=status, body=body, content_type=content_type)


Handler = Callable[[Request], Awaitable[Response | None]]


class BadRequestError(ValueError):
    """The client sent something that is not HTTP/1.x."""


async def _read_request(reader: asyncio.StreamReader, local: str) -> Request | None:
    # A timeout scope rather than wait_for: no extra task per request on a busy server.
    async with asyncio.timeout(KEEP_ALIVE_IDLE):
        line = await reader.readline()
    if not line:
        return None
    try:
        method, target, version = line.decode("latin-1").rstrip("\r\n").split(" ")
    except ValueError as error:
        raise BadRequestError("malformed request line") from error
    if not version.startswith("HTTP/1."):
        raise BadRequestError("not HTTP/1.x")
    headers: dict[str, str] = {"_version": version}
    for _ in range(MAX_HEADERS):
        header = await reader.readline()
        if header in (b"\r\n", b"\n", b""):
            break
        name, _, value = header.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    else:
        raise BadRequestError("too many headers")
    length = int(headers.get("content-length", "0") or 0)
    if length > MAX_BODY:
        raise BadRequestError("body too large")
    body = await reader.readexactly(length) if length else b""
    parts = urlsplit(target)
    return Request(
        method=method.upper(),
        path=unquote(parts.path),
        raw_path=target,
        query=parse_qs(parts.query) if parts.query else {},
        headers=headers,
        body=body,
        local_address=local,
    )


@lru_cache(maxsize=128)
def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Status"


def encode_response(response: Response, head_only: bool, keep_alive: bool) -> bytes:
    """The bytes of ``response`` (its head alone for HEAD)."""
    reason = _reason(response.status)
    lines = [f"HTTP/1.1 {response.status} {reason}"]
    headers = {
        "Content-Type": response.content_type,
        "Content-Length": str(len(response.body)),
        "Connection": "keep-alive" if keep_alive else "close",
        "Server": "takedown-sandbox",
        **response.headers,
    }
    lines += [f"{name}: {value}" for name, value in headers.items()]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if head_only else head + response.body


class HttpServer:
    """Serves one handler on any number of addresses."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.listeners = TrackedListeners()

    async def listen(self, host: str, port: int) -> int:
        """Listen on host:port (0 picks one); return the port."""
        return await self.listeners.listen(host, port, self._connection)

    async def close(self) -> None:
        """Stop listening and close every connection."""
        await self.listeners.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        local = str(writer.get_extra_info("sockname")[0])
        while True:
            try:
                request = await _read_request(reader, local)
            except (BadRequestError, ValueError):
                writer.write(encode_response(Response(400, b"bad request\n"), False, False))
                await writer.drain()
                return
            except TimeoutError:
                return
            if request is None:
                return
            response = await self.handler(request)
            if response is None:
                return  # the handler already held the connection silent as long as it wanted
            if response.reset:
                reset_connection(writer)
                return
            keep_alive = request.headers.get("connection", "").lower() != "close" and (
                request.headers["_version"] == "HTTP/1.1"
            )
            writer.write(encode_response(response, request.method == "HEAD", keep_alive))
            await writer.drain()
            if not keep_alive:
                return
