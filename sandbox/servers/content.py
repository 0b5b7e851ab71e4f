"""The world's web hosts: every content URL answers with its synthetic bytes on its address.

One listener per distinct content address, all on the world's content port. A request is
served only on the address its Host currently resolves to, so a moved URL stops answering at
its old provider and starts at the new one; a removed URL answers 404 or 410.
"""

from __future__ import annotations

from functools import partial

from sandbox.faults import Fault, FaultInjector
from sandbox.servers.httpd import Request, Response
from sandbox.servers.quickhttp import Later, QuickHttpServer
from sandbox.state import WorldState
from sandbox.world.synthetic import synthetic_bytes

CONTENT_TYPE = "application/octet-stream"
NOT_FOUND = b"<html><body><h1>404 Not Found</h1></body></html>\n"
GONE = b"<html><body><h1>410 Gone</h1></body></html>\n"


class ContentHosts:
    """Decides what a content request gets (the sans-I/O part)."""

    def __init__(self, state: WorldState) -> None:
        self.state = state

    def respond(self, request: Request) -> Response:
        """The answer to a GET or HEAD arriving on `request.local_address`."""
        if request.method not in ("GET", "HEAD"):
            return Response(405, b"method not allowed\n", {"Allow": "GET, HEAD"})
        index = self.state.index
        path = request.raw_path if request.raw_path.startswith("/") else request.path
        url = index.urls.get(request.host + path)
        if url is None or request.local_address not in self.state.addresses(url.host):
            return Response(404, NOT_FOUND, content_type="text/html")
        history = self.state.urls.get(url.key)
        if history is not None and history.removed_status is not None:
            body = GONE if history.removed_status == 410 else NOT_FOUND
            return Response(history.removed_status, body, content_type="text/html")
        body = synthetic_bytes(index.world.seed, url.key, url.size)
        return Response(200, body, {"Cache-Control": "no-store"}, CONTENT_TYPE)


class ContentServer:
    """HTTP listeners on every content address of the world (plain protocols: a recheck
    benchmark's load lands here, and the sandbox should cost the machine little of it)."""

    def __init__(self, state: WorldState, faults: FaultInjector) -> None:
        self.hosts = ContentHosts(state)
        self.faults = faults
        self.http = QuickHttpServer(self._handle)

    async def start(self, addresses: list[str], port: int) -> int:
        """Listen on `port` of every address (0: one free port, the same on all); return it."""
        if not addresses:
            return port
        port = await self.http.listen(addresses[0], port)
        for address in addresses[1:]:
            await self.http.listen(address, port)
        return port

    def _handle(self, request: Request) -> Response | Later:
        fault = self.faults.draw()
        delay = max(self.faults.plan.delay, 0.0)
        if fault is Fault.TIMEOUT:
            # Silent as long as the plan holds, then the connection is closed.
            return Later(delay + self.faults.plan.hold, _silence)
        if delay:
            return Later(delay, partial(self._answer, request, fault))
        return self._answer(request, fault)

    def _answer(self, request: Request, fault: Fault) -> Response:
        if fault is Fault.REFUSE:
            return Response(reset=True)
        if fault is Fault.RATE_LIMIT:
            return Response(429, b"too many requests\n", {"Retry-After": "2"})
        response = self.hosts.respond(request)
        if fault is Fault.TRUNCATE:
            # The length still promises the whole body: the client sees the connection end early.
            return Response(reset=True) if response.status == 200 else response
        return response

    async def close(self) -> None:
        """Stop serving."""
        await self.http.close()


def _silence() -> None:
    return None
