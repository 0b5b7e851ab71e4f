"""A trace batch on the database keeps every server within its cap, counted on the server's side.

Cases of a generated world with many domains are taken in and traced in one batch through the
engine's own path (claim, resolve, record), with caps far below the number of hosts and every
answer delayed so that queries overlap; the sandbox counts what each server answered at once.
Counts only: nothing here depends on how long anything took.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine

from hosting.common.limits import Limits, RateLimit, ServerPolicy
from registry.db import unit_of_work
from registry.intake.service import ingest_file
from registry.tracing.run import trace_batch
from registry.tracing.sources import TraceSources
from sandbox.testing import SandboxHandle, running_sandbox
from sandbox.world.generate import generate_world_dict
from sandbox.world.load import world_from_dict
from sandbox.world.model import FaultPlan
from tests.tracing.conftest import settings_for

pytestmark = pytest.mark.network

DELAY = FaultPlan(delay=0.02)
DNS_CAP = 6
SERVER_CAP = 4
TIGHT = ServerPolicy(concurrency=SERVER_CAP, rate=RateLimit(1e6, 1, burst=100_000))


@pytest.fixture(scope="module")
def generated() -> Iterator[SandboxHandle]:
    """A generated world of 12 providers and 30 domains, every answer 20 ms late."""
    world = world_from_dict(generate_world_dict(5, 12, 600), where="test")
    with running_sandbox(world, faults={"dns": DELAY, "rdap": DELAY, "whois": DELAY}) as handle:
        yield handle


def tight_sources(handle: SandboxHandle) -> TraceSources:
    """The sources the sandbox's settings give, every server (loopback ones too) capped low."""
    sources = TraceSources.from_settings(
        settings_for(handle), limits=Limits(dns_concurrency=DNS_CAP, batch_concurrency=500)
    )
    servers = dict.fromkeys(sources.limits.servers, TIGHT)
    return replace(sources, limits=replace(sources.limits, servers=servers, default_server=TIGHT))


def test_a_batch_keeps_every_server_within_its_cap(
    engine: Engine, generated: SandboxHandle
) -> None:
    data = Path(generated.env["TAKEDOWN_SANDBOX_REPORTS"]).read_bytes()
    with unit_of_work(engine) as session:
        opened = ingest_file(
            session,
            data,
            "reports.csv",
            categories=["A", "B", "C", "baseline"],
            default_source="gb",
        ).cases_opened
    assert opened == len(generated.urls)

    generated.inflight(reset=True)
    summary = trace_batch(engine, tight_sources(generated), actor="test", size=opened)
    load = generated.inflight(reset=True)

    assert summary.claimed == opened
    assert summary.traced > opened // 2
    assert summary.traced + summary.failed == opened
    assert {"dns", "rdap"} <= set(load)
    assert any(name.startswith("whois:") for name in load)
    for name, seen in load.items():
        cap = DNS_CAP if name == "dns" else SERVER_CAP
        assert seen["peak"] <= cap, f"{name} answered {seen['peak']} at once (cap {cap})"
    assert load["dns"]["peak"] == DNS_CAP
    assert load["rdap"]["peak"] == SERVER_CAP
