"""``takedown resolve`` on a host the sandbox serves over IPv6 only (an AAAA record on ::1, no A):
its network, country and abuse desk are named, through RDAP asked for the address as is."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sandbox.testing import SandboxHandle, running_sandbox
from takedown.cli import app
from tests.demo.wider_world import V6_ABUSE, V6_URL, wider_world
from tests.tracing.conftest import point_at

pytestmark = pytest.mark.network


@pytest.fixture(scope="module")
def wider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    with running_sandbox(wider_world(Path(tmp_path_factory.mktemp("wider")))) as handle:
        yield handle


def test_resolve_names_the_network_of_an_ipv6_only_host(
    monkeypatch: pytest.MonkeyPatch, wider: SandboxHandle, tmp_path: Path
) -> None:
    monkeypatch.setenv("TAKEDOWN_DATABASE_URL", f"sqlite:///{tmp_path / 'never.db'}")
    point_at(monkeypatch, wider)
    result = CliRunner().invoke(app, ["resolve", V6_URL, "--json"])
    assert result.exit_code == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["ips"] == ["::1"]
    network = printed["network"]
    assert network["organisation"] == "SixNet Hosting B.V."
    assert network["country"] == "NL" and printed["hosting_country"] == "NL"
    assert network["prefix"] == "::1/128"
    assert network["abuse_contacts"][0]["email"] == V6_ABUSE
    assert printed["errors"] == []
