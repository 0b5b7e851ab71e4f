"""The content hosts' HTTP, spoken over raw sockets: what a probe, curl or a broken client meets."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Iterator

import pytest
import uvloop

from sandbox.servers.httpd import Request, Response
from sandbox.servers.quickhttp import Later, QuickHttpServer
from sandbox.testing import SandboxHandle, running_sandbox
from sandbox.world.model import FaultPlan, World

ADDRESS = "127.16.0.10"
TIMEOUT = 5.0


@pytest.fixture
def content(example_world: World) -> Iterator[SandboxHandle]:
    """A fresh sandbox per test: the tests change the content hosts' faults."""
    with running_sandbox(example_world) as handle:
        yield handle


def request(path: str, port: int, *, method: str = "GET", extra: str = "") -> bytes:
    host = f"files.example-host.bz:{port}"
    return f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode("latin-1")


def talk(port: int, data: bytes, *, wait_close: bool = True) -> bytes:
    """Send ``data`` and read until the server closes (or the timeout)."""
    with socket.create_connection((ADDRESS, port), timeout=TIMEOUT) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
            if not wait_close:
                break
        return received


def statuses(answer: bytes) -> list[int]:
    return [int(status) for status in re.findall(rb"HTTP/1\.1 (\d{3}) [A-Za-z ]+\r\n", answer)]


def test_pipelined_requests_are_answered_in_order_on_one_connection(
    content: SandboxHandle,
) -> None:
    port = content.ports.content
    data = (
        request("/a/1001.bin", port)
        + request("/nothing-here", port)
        + request("/a/1002.bin", port, method="HEAD")
        + request("/a/1001.bin", port, method="POST", extra="Content-Length: 3\r\n")
        + b"abc"
        + request("/a/1001.bin", port, extra="Connection: close\r\n")
    )
    answer = talk(port, data)
    assert statuses(answer) == [200, 404, 200, 405, 200]
    assert answer.count(b"TAKEDOWN-SANDBOX SYNTHETIC CONTENT") == 2  # HEAD has no body
    assert answer.count(b"Connection: keep-alive") == 4
    assert b"Connection: close" in answer


def test_http_1_0_is_answered_and_closed(content: SandboxHandle) -> None:
    port = content.ports.content
    data = f"GET /a/1001.bin HTTP/1.0\r\nHost: files.example-host.bz:{port}\r\n\r\n".encode()
    answer = talk(port, data)
    assert statuses(answer) == [200] and b"Connection: close" in answer


@pytest.mark.parametrize(
    "data",
    [b"NONSENSE\r\n\r\n", b"GET / SPDY/3\r\n\r\n", b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n"],
)
def test_what_is_not_http_1_gets_400_and_the_connection_closed(
    content: SandboxHandle, data: bytes
) -> None:
    assert statuses(talk(content.ports.content, data)) == [400]


def test_too_many_headers_get_400(content: SandboxHandle) -> None:
    port = content.ports.content
    extra = "".join(f"X-{i}: {i}\r\n" for i in range(100))
    assert statuses(talk(port, request("/a/1001.bin", port, extra=extra))) == [400]


def test_a_delay_holds_each_answer_and_faults_answer_as_planned(content: SandboxHandle) -> None:
    port = content.ports.content
    content.set_faults("content", FaultPlan(delay=0.05, rate_limit_share=1.0))
    answer = talk(port, request("/a/1001.bin", port, extra="Connection: close\r\n"))
    assert statuses(answer) == [429] and b"Retry-After: 2" in answer
    content.set_faults("content", FaultPlan(refuse_share=1.0))
    with pytest.raises(ConnectionResetError):
        talk(port, request("/a/1001.bin", port))
    content.set_faults("content", FaultPlan(truncate_share=1.0))
    with pytest.raises(ConnectionResetError):
        talk(port, request("/a/1001.bin", port))
    # A truncated answer that is not content (a 404) is sent whole.
    assert statuses(talk(port, request("/nothing", port, extra="Connection: close\r\n"))) == [404]


def test_a_timeout_fault_says_nothing_and_then_hangs_up(content: SandboxHandle) -> None:
    port = content.ports.content
    content.set_faults("content", FaultPlan(timeout_share=1.0, hold=0.2))
    assert talk(port, request("/a/1001.bin", port)) == b""


def test_the_server_runs_on_uvloop_as_the_sandbox_command_serves_it() -> None:
    """``sandbox up`` serves on uvloop, whose transports are not asyncio's classes."""

    def handler(request: Request) -> Response | Later:
        if request.path == "/later":
            return Later(0.01, lambda: Response(200, b"later"))
        return Response(200, request.local_address.encode())

    async def main() -> tuple[bytes, bytes]:
        server = QuickHttpServer(handler)
        port = await server.listen("127.0.0.1", 0)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /later HTTP/1.1\r\nHost: x\r\n\r\n")
            writer.write(b"GET /now HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = await reader.read()
            writer.close()
            return answer, b""
        finally:
            await server.close()

    answer, _ = uvloop.run(main())
    assert statuses(answer) == [200, 200]
    assert answer.index(b"later") < answer.index(b"127.0.0.1")
