"""A running sandbox for tests: every server on free loopback ports, in a background thread.

with running_sandbox() as sandbox:
    resolver.nameservers = [sandbox.env["TAKEDOWN_DNS_NAMESERVERS"]]
    ...
    assert sandbox.url_state(url)["state"] == "removed"
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sandbox.runner import BoundPorts, PortPlan, Sandbox
from sandbox.servers.inspection import describe_url
from sandbox.state import Clock
from sandbox.world.load import load_world
from sandbox.world.model import FaultPlan, World

EXAMPLE_WORLD = Path(__file__).parent / "worlds" / "example.yaml"
START_TIMEOUT = 60.0  # seconds: a 100,000-URL world starts well within this
STOP_TIMEOUT = 10.0
T = TypeVar("T")


class ManualClock:
    """A clock that moves only when told: behaviour timers fire exactly when a test says."""

    def __init__(self, start: float = 1_767_600_000.0) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        with self._lock:
            self.now += seconds


class SandboxHandle:
    """What a test gets: ports, settings, the world, and inspection helpers."""

    def __init__(self, sandbox: Sandbox, loop: asyncio.AbstractEventLoop) -> None:
        self._sandbox = sandbox
        self._loop = loop

    @property
    def world(self) -> World:
        """The world being served."""
        return self._sandbox.world

    @property
    def ports(self) -> BoundPorts:
        """Where each server listens."""
        return self._sandbox.ports

    @property
    def env(self) -> dict[str, str]:
        """The `TAKEDOWN_*` settings that point the engine at this sandbox."""
        return dict(self._sandbox.env)

    @property
    def workdir(self) -> Path:
        """The folder holding the bootstrap files, the directory and the reports."""
        return self._sandbox.workdir

    @property
    def urls(self) -> list[str]:
        """Every content URL of the world, with the content port actually served."""
        return [u.url(self.ports.content) for u in self.world.urls]

    def url(self, key_or_url: str) -> str:
        """The served URL of a world URL given by key (`host/path`) or any form with a port."""
        for url in self.world.urls:
            if key_or_url in (
                url.key,
                url.url(self.ports.content),
                url.url(self.world.content_port),
            ):
                return url.url(self.ports.content)
        raise KeyError(key_or_url)

    def call(self, function: Callable[[Sandbox], T]) -> T:
        """Run `function(sandbox)` on the sandbox's own thread and return its result."""

        async def run() -> T:
            return function(self._sandbox)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(STOP_TIMEOUT)

    def mailbox(self, address: str) -> list[dict[str, Any]]:
        """The messages delivered to `address` (KeyError: not a mailbox of the world)."""

        def read(sandbox: Sandbox) -> list[dict[str, Any]] | None:
            assert sandbox.inspection is not None
            return sandbox.inspection.service.messages(address)

        messages = self.call(read)
        if messages is None:
            raise KeyError(address)
        return messages

    def url_state(self, url: str) -> dict[str, Any]:
        """The current state of one world URL (see `inspection.describe_url`)."""
        served = self.url(url)

        def read(sandbox: Sandbox) -> dict[str, Any]:
            content_url = next(
                u for u in sandbox.world.urls if u.url(sandbox.ports.content) == served
            )
            return describe_url(sandbox.state, content_url, sandbox.ports.content)

        return self.call(read)

    def events(self) -> list[dict[str, Any]]:
        """Every behaviour change that took effect so far."""

        def read(sandbox: Sandbox) -> list[dict[str, Any]]:
            assert sandbox.inspection is not None
            return sandbox.inspection.service.events()

        return self.call(read)

    def inflight(self, *, reset: bool = False) -> dict[str, dict[str, int]]:
        """The most queries each DNS, RDAP and WHOIS server answered at once, and how many in
        all: ``{"dns": {"peak", "total", "now"}, "rdap": ..., "whois:<name>": ...}``; with
        ``reset``, counting starts afresh after reading."""

        def read(sandbox: Sandbox) -> dict[str, dict[str, int]]:
            found = sandbox.inflight.snapshot()
            if reset:
                sandbox.inflight.reset()
            return found

        return self.call(read)

    def set_faults(self, server: str, plan: FaultPlan) -> None:
        """Change one server's faults (dns, whois, rdap, content, smtp) from now on."""
        self.call(lambda sandbox: sandbox.set_faults(server, plan))


def _resolve_world(world: World | Path | str | None) -> World:
    if world is None:
        return load_world(EXAMPLE_WORLD)
    if isinstance(world, World):
        return world
    return load_world(Path(world))


@contextmanager
def running_sandbox(
    world: World | Path | str | None = None,
    *,
    faults: dict[str, FaultPlan] | None = None,
    clock: Clock = time.time,
    ports: PortPlan | None = None,
    workdir: Path | None = None,
    mail_dir: Path | None = None,
) -> Iterator[SandboxHandle]:
    """Serve `world` (default: the example world) until the block ends, then stop everything.

    Ports default to free ones, the content port included, so parallel runs do not collide.
    Files go to `workdir`, or to a temporary folder removed afterwards; delivered mail is also
    written to `mail_dir` as `.eml` files, if given.
    """
    resolved = _resolve_world(world)
    plan = ports or PortPlan(content=0)
    with tempfile.TemporaryDirectory(prefix="sandbox-") as scratch:
        sandbox = Sandbox(
            resolved,
            workdir or Path(scratch),
            ports=plan,
            faults=faults,
            clock=clock,
            mail_dir=mail_dir,
        )
        loop = asyncio.new_event_loop()
        started: Future[None] = Future()
        thread = threading.Thread(
            target=_serve, args=(loop, sandbox, started), daemon=True, name="sandbox"
        )
        thread.start()
        try:
            started.result(START_TIMEOUT)
            yield SandboxHandle(sandbox, loop)
        finally:
            if loop.is_running():
                loop.call_soon_threadsafe(loop.stop)
            thread.join(STOP_TIMEOUT)


def _serve(loop: asyncio.AbstractEventLoop, sandbox: Sandbox, started: Future[None]) -> None:
    asyncio.set_event_loop(loop)
    try:
        try:
            loop.run_until_complete(sandbox.start())
        except BaseException as error:
            started.set_exception(error)
            return
        started.set_result(None)
        loop.run_forever()
        loop.run_until_complete(sandbox.close())
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        asyncio.set_event_loop(None)
        loop.close()
