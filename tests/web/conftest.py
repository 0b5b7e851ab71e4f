"""Fixtures of the web tests: a seeded database, the app, and a live server on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine

from records.signing import new_private_key
from settings import Settings
from tests.web.seed import World, build_world
from web.app import create_app
from web.config import WebConfig


@dataclass
class RecordingStarter:
    """Stands in for the pipeline: remembers which cases it was asked to start."""

    calls: list[list[int]] = field(default_factory=list)

    def __call__(self, case_ids: Sequence[int]) -> None:
        self.calls.append(list(case_ids))


@pytest.fixture(scope="session")
def signing_key() -> str:
    return new_private_key()


@pytest.fixture
def world(engine: Engine) -> World:
    return build_world(engine)


@pytest.fixture
def starter() -> RecordingStarter:
    return RecordingStarter()


@pytest.fixture
def web_config(signing_key: str, tmp_path: Path) -> WebConfig:
    # The bundle cache on, as in production: every download test goes through it.
    return WebConfig(
        cookie_secure=False,
        signing_key=signing_key,
        categories=("A", "B", "C", "baseline"),
        default_source="local",
        bundle_cache_dir=tmp_path / "bundle-cache",
    )


@pytest.fixture
def app(engine: Engine, web_config: WebConfig, starter: RecordingStarter) -> FastAPI:
    return create_app(Settings(), engine=engine, config=web_config, starter=starter)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    server: uvicorn.Server
    thread: threading.Thread


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[LiveServer]:
    """The app served by uvicorn on a free loopback port, in a background thread."""
    with serving(app) as live:
        yield live


@contextmanager
def serving(app: FastAPI) -> Iterator[LiveServer]:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    yield LiveServer(f"http://127.0.0.1:{port}", server, thread)
    server.should_exit = True
    thread.join(timeout=10)
