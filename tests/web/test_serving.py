"""``takedown serve --workers N``: one listening socket per worker, stopped together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from registry import migrate
from tests.web.conftest import free_port

WORKERS = 2


def _listeners(port: int) -> int:
    """Listening TCP sockets on ``port`` (IPv4), from the kernel's own table."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state = fields[1], fields[3]
        if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
            count += 1
    return count


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def server(tmp_path: Path, signing_key: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    migrate.upgrade(url)
    port = free_port()
    env = {
        **os.environ,
        "TAKEDOWN_DATABASE_URL": url,
        "TAKEDOWN_SIGNING_KEY": signing_key,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "takedown", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        ready = False
        while not ready and time.monotonic() < deadline and process.poll() is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/sign-in", timeout=2).status_code == 200
            except httpx.HTTPError:
                time.sleep(0.2)
        assert ready, "the server did not answer"
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def _workers(process: subprocess.Popen[bytes]) -> list[int]:
    # The spawn start method adds a resource tracker; workers are the ones running uvicorn.
    return [
        pid
        for pid in _children(process.pid)
        if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def test_each_worker_listens_on_its_own_socket_and_all_stop_together(
    server: tuple[subprocess.Popen[bytes], int],
) -> None:
    process, port = server
    assert _listeners(port) == WORKERS
    workers = _workers(process)
    assert len(workers) == WORKERS
    with httpx.Client(timeout=10) as client:
        for _ in range(20):  # new connections, spread by the kernel
            answer = client.get(f"http://127.0.0.1:{port}/sign-in", headers={"Connection": "close"})
            assert answer.status_code == 200
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    assert not any(_alive(pid) for pid in workers)
    assert _listeners(port) == 0


def test_a_worker_dying_stops_the_others_and_fails(
    server: tuple[subprocess.Popen[bytes], int],
) -> None:
    process, port = server
    first, *others = _workers(process)
    os.kill(first, signal.SIGKILL)
    assert process.wait(timeout=60) == 1
    assert not any(_alive(pid) for pid in others)
    assert _listeners(port) == 0
