"""`sandbox up` serves and writes the settings; `sandbox generate` writes a world file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sandbox.cli import sandbox_app
from sandbox.world.load import load_world

STARTUP_LIMIT = 30.0  # seconds to wait for the settings file


def test_generate_writes_a_world_that_loads(tmp_path: Path) -> None:
    out = tmp_path / "world.yaml"
    result = CliRunner().invoke(sandbox_app, ["generate", "5,6,120", "--out", str(out)])
    assert result.exit_code == 0, result.output
    world = load_world(out)
    assert len(world.urls) == 120


def test_up_refuses_both_a_world_and_a_generator() -> None:
    result = CliRunner().invoke(sandbox_app, ["up", "--world", "x.yaml", "--generate", "1,2,3"])
    assert result.exit_code != 0


@pytest.mark.network
def test_up_writes_the_env_file_and_stops_on_interrupt(tmp_path: Path) -> None:
    env_file = tmp_path / "sandbox.env"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "up",
            "--generate",
            "3,4,40",
            "--env-file",
            str(env_file),
            "--state-dir",
            str(tmp_path / "state"),
            "--content-port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    try:
        deadline = time.monotonic() + STARTUP_LIMIT
        while not env_file.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        assert env_file.exists(), process.stderr.read() if process.stderr else ""
        settings = dict(
            line.split("=", 1)
            for line in env_file.read_text().splitlines()
            if not line.startswith("#")
        )
        assert settings["TAKEDOWN_DNS_NAMESERVERS"].startswith("127.0.0.1:")
        assert Path(settings["TAKEDOWN_SANDBOX_REPORTS"]).exists()
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=STARTUP_LIMIT)
    assert process.returncode == 0, err
    assert "sandbox stopped" in out
