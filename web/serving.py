"""Serving the app from one or several processes.

With several workers, each process listens on a socket of its own bound to the same address
with ``SO_REUSEPORT``, and the kernel spreads new connections evenly over them. The usual
arrangement, one listening socket shared by all workers, lets whichever process wakes first
accept a whole burst of connections; since clients keep their connections open, one worker
can end up serving most of them while the other idles, and every one of its clients waits
longer. Each worker runs uvicorn on its socket; the first process watches them and stops them
all when told to stop or when one of them dies (the service manager then restarts the lot).
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

import uvicorn

KEEP_ALIVE_SECONDS = 75
"""Longer than the usual proxy's idle timeout, so the proxy closes idle connections first and
never sends a request on a connection we are closing."""

STOP_GRACE_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Listen:
    host: str
    port: int


def serve(app: Any, listen: Listen) -> None:
    """Serve ``app`` (an ASGI app) from this process until interrupted."""
    uvicorn.run(app, **_options(listen))


def serve_workers(factory: str, listen: Listen, workers: int) -> int:
    """Serve the app that ``factory`` ("module:function") makes, from ``workers`` processes.

    Returns the exit status: 0 after a requested stop, 1 if a worker died on its own.
    """
    context = multiprocessing.get_context("spawn")
    # All bound here, before any worker starts: a connection arriving early waits in its
    # socket's queue for that worker, instead of all early ones going to the first worker up.
    sockets = [_listening_socket(listen) for _ in range(workers)]
    processes = [
        context.Process(target=_worker, args=(factory, listen, sock), name=f"web-{n}")
        for n, sock in enumerate(sockets)
    ]
    stopping = False

    def stop(_signal: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for process in processes:
            process.start()
        while not stopping and all(p.is_alive() for p in processes):
            time.sleep(0.2)
    finally:
        _stop_all(processes)
        for sock in sockets:
            sock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if stopping else 1


def _stop_all(processes: Sequence[BaseProcess]) -> None:
    for process in processes:
        if process.is_alive():
            process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()


def _worker(factory: str, listen: Listen, sock: socket.socket) -> None:
    config = uvicorn.Config(factory, factory=True, **_options(listen))
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
    sys.exit(0)


def _listening_socket(listen: Listen) -> socket.socket:
    family = socket.AF_INET6 if ":" in listen.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((listen.host, listen.port))
    sock.listen(2048)
    return sock


def _options(listen: Listen) -> dict[str, Any]:
    return {
        "host": listen.host,
        "port": listen.port,
        # Named, not left to uvicorn's "auto": without them it falls back to its pure-Python
        # parser and asyncio's loop, and costs more CPU per request than it says.
        "http": "httptools",
        "loop": "uvloop",
        "proxy_headers": False,
        "server_header": False,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
    }
