"""``takedown probe`` and ``takedown recheck`` on the command line."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from registry.db import unit_of_work
from registry.status import CaseStatus
from takedown.cli import app
from tests.tracking.cases import case_row, check_count, open_case
from tests.tracking.conftest import ITEM_SHA256
from tests.tracking.loopback import DnsServer, Route, WebServer, Zone

runner = CliRunner()


@pytest.fixture
def probe_env(monkeypatch: pytest.MonkeyPatch, resolver: DnsServer, zone: Zone) -> None:
    zone.a["files.example.bz"] = ["127.0.0.1"]
    monkeypatch.setenv("TAKEDOWN_DNS_NAMESERVERS", resolver.nameservers)
    monkeypatch.setenv("TAKEDOWN_PROBE_ALLOWED_NETWORKS", "127.0.0.1/32")
    monkeypatch.setenv("TAKEDOWN_PROBE_USER_AGENT", "TakedownProbe/cli-test")


def test_probe_prints_the_contract_and_stores_nothing(probe_env: None, web: WebServer) -> None:
    url = web.url("/item", "files.example.bz")
    result = runner.invoke(app, ["probe", url, "--sha256", ITEM_SHA256, "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "url": url,
        "outcome": "present",
        "status": 200,
        "address": "127.0.0.1",
        "sha256": ITEM_SHA256,
        "bytes": 2440,
        "error": None,
    }
    assert web.requests[0][2] == "TakedownProbe/cli-test"


def test_probe_for_people_shows_the_url_defanged(probe_env: None, web: WebServer) -> None:
    web.routes["/gone"] = Route(410, b"")
    result = runner.invoke(app, ["probe", web.url("/gone", "files.example.bz")])
    assert result.exit_code == 0
    assert "outcome  removed" in result.stdout and "status   410" in result.stdout
    assert f"hxxp://files[.]example[.]bz:{web.port}/gone" in result.stdout
    assert "http://" not in result.stdout


def test_probe_refuses_a_url_that_is_not_http_with_one_line() -> None:
    result = runner.invoke(app, ["probe", "file:///etc/passwd"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: scheme 'file' is not allowed; only http and https URLs"


def test_probe_refuses_a_bad_digest() -> None:
    result = runner.invoke(app, ["probe", "http://a.example.bz/", "--sha256", "abc"])
    assert result.exit_code == 2 and "64 hexadecimal" in result.stderr


def test_probe_without_allowance_blocks_loopback(
    monkeypatch: pytest.MonkeyPatch, web: WebServer
) -> None:
    result = runner.invoke(app, ["probe", web.url("/item"), "--json"])
    assert json.loads(result.stdout)["outcome"] == "blocked"
    assert web.connections == 0


def test_recheck_runs_the_due_cases(
    probe_env: None,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    engine: Engine,
    web: WebServer,
) -> None:
    monkeypatch.setenv("TAKEDOWN_DATABASE_URL", database_url)
    monkeypatch.setenv("TAKEDOWN_REMOVAL_CONFIRMATIONS", "1")
    web.routes["/gone"] = Route(404, b"")
    with unit_of_work(engine) as session:
        up = open_case(session, web.url("/item", "files.example.bz"), sha256=ITEM_SHA256)
        gone = open_case(session, web.url("/gone", "files.example.bz"), sha256=ITEM_SHA256)
    result = runner.invoke(app, ["recheck", "--json"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["checked"] == 2 and summary["removal_verified"] == 1
    assert summary["outcomes"] == {
        "present": 1,
        "changed": 0,
        "removed": 1,
        "unreachable": 0,
        "blocked": 0,
    }
    assert case_row(engine, gone).status is CaseStatus.REMOVED
    assert case_row(engine, up).status is CaseStatus.NOTIFIED
    assert check_count(engine) == 2
    again = runner.invoke(app, ["recheck"])
    assert again.stdout.startswith("0 checked (nothing due)")
