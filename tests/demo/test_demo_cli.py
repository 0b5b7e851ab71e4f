"""``takedown demo`` exits 1 naming every case that ended otherwise than its world says, and
keeps Prefect's logs out of the console."""

from __future__ import annotations

import subprocess
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import takedown.commands.demo as demo_command
from takedown.cli import app
from takedown.demo.logs import logging_config, output_to

SUMMARY: dict[str, Any] = {
    "cases_by_state": {"held": 1, "notified": 1},
    "notices_by_kind": {},
    "notices_sent": 3,
    "notices_waiting": 0,
    "removals_verified": 0,
    "median_time_to_removal_seconds": None,
    "escalated": 1,
    "needs_analyst": 1,
    "cases": [],
    "settled": True,
    "cycles": 30,
    "demo_seconds": 90,
    "elapsed_seconds": 40.0,
    "world": "example",
    "mailboxes": {},
}


@pytest.fixture
def demo_ending(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The demo command with its run replaced: it ends with the summary the test fills in."""
    summary = dict(SUMMARY)
    monkeypatch.setattr(demo_command, "run_demo", lambda *args, **kwargs: summary)
    monkeypatch.setattr(demo_command, "keep_prefect_logs_in", lambda folder: folder / "x.log")
    monkeypatch.setattr(demo_command, "temporary_prefect_server", lambda log: nullcontext())
    monkeypatch.setenv("PREFECT_HOME", "unused")  # set by the command otherwise
    monkeypatch.setenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    return summary


def test_an_end_the_world_does_not_expect_exits_1_naming_the_cases(
    demo_ending: dict[str, Any], tmp_path: Path
) -> None:
    demo_ending["differences"] = [
        {
            "case": "TD-000012",
            "url": "hxxp://quiet-harbor-share[.]com:8080/q/8001.bin",
            "expected": "removed, escalated",
            "actual": "notified, escalated, flagged for an analyst",
        }
    ]
    result = CliRunner().invoke(app, ["demo", "--workdir", str(tmp_path)])
    assert result.exit_code == 1
    assert "1 cases did not end as the world expects" in result.stderr
    assert (
        "TD-000012  hxxp://quiet-harbor-share[.]com:8080/q/8001.bin: expected removed, "
        "escalated; ended notified, escalated, flagged for an analyst"
    ) in result.stderr


def test_a_world_that_does_not_settle_exits_1(demo_ending: dict[str, Any], tmp_path: Path) -> None:
    demo_ending |= {"settled": False, "differences": []}
    result = CliRunner().invoke(app, ["demo", "--workdir", str(tmp_path)])
    assert result.exit_code == 1
    assert "the world did not settle within 30 cycles" in result.stderr


def test_the_documented_end_exits_0(demo_ending: dict[str, Any], tmp_path: Path) -> None:
    demo_ending["differences"] = []
    result = CliRunner().invoke(app, ["demo", "--workdir", str(tmp_path)])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""


def test_prefect_logs_go_to_the_file_not_the_console(tmp_path: Path) -> None:
    log_file = tmp_path / "prefect.log"
    config = logging_config(log_file)
    streams = [h for h in config["handlers"].values() if "stream" in h]
    assert streams == []
    assert config["handlers"]["console"]["filename"] == str(log_file)
    assert config["root"]["handlers"] == ["console"]


def test_a_subprocess_started_meanwhile_writes_its_output_to_the_file(tmp_path: Path) -> None:
    log_file = tmp_path / "server.log"
    code = "import sys, time; time.sleep(0.5); print('out'); print('Traceback', file=sys.stderr)"
    with output_to(log_file):
        child = subprocess.Popen([sys.executable, "-c", code])
    child.wait(timeout=30)
    assert log_file.read_text().split() == ["out", "Traceback"]
