"""No server ever has more of our queries to answer than its cap, counted on the server's side.

The sandbox's servers count the queries they are answering at once (``sandbox.inflight``); a
generated world with many domains is traced with small caps, every answer delayed so that
queries overlap. Counts only: nothing here depends on how long anything took.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from hosting.common.limits import Limits, RateLimit, ServerPolicy
from hosting.trace import open_resolver, resolve_urls
from hosting.whois.client import WhoisClient, WhoisOverrides
from sandbox.testing import SandboxHandle, running_sandbox
from sandbox.world.generate import generate_world_dict
from sandbox.world.load import world_from_dict
from sandbox.world.model import FaultPlan
from tests.hosting.loopback import whois_server

pytestmark = pytest.mark.network

DELAY = FaultPlan(delay=0.02)
UNHURRIED = RateLimit(1e6, 1, burst=100_000)
"""No rate limit to speak of: the concurrency caps are what is tested."""


@pytest.fixture(scope="module")
def generated() -> Iterator[SandboxHandle]:
    """A generated world of 15 providers and 60 domains, every answer 20 ms late."""
    spec = generate_world_dict(11, 15, 1200)
    world = world_from_dict(spec, where="test")
    with running_sandbox(world, faults={"dns": DELAY, "rdap": DELAY, "whois": DELAY}) as handle:
        yield handle


@pytest.mark.parametrize(("dns_cap", "server_cap"), [(4, 3), (1, 1)])
def test_no_server_sees_more_than_its_cap(
    generated: SandboxHandle, dns_cap: int, server_cap: int
) -> None:
    limits = Limits(
        dns_concurrency=dns_cap,
        default_server=ServerPolicy(concurrency=server_cap, rate=UNHURRIED),
        servers={},
        batch_concurrency=256,
    )
    urls = generated.urls

    async def run() -> int:
        async with open_resolver(
            dns_nameservers=generated.env["TAKEDOWN_DNS_NAMESERVERS"],
            whois_servers=generated.env["TAKEDOWN_WHOIS_SERVERS"],
            rdap_bootstrap_dir=generated.env["TAKEDOWN_RDAP_BOOTSTRAP_DIR"],
            limits=limits,
            allowed_networks=["127.0.0.0/8"],
        ) as resolver:
            results = await resolve_urls(urls, resolver)
        return sum(1 for r in results if r.network is not None)

    generated.inflight(reset=True)
    found = asyncio.run(run())
    load = generated.inflight(reset=True)

    assert found > len(urls) // 2
    assert {"dns", "rdap"} <= set(load)
    assert any(name.startswith("whois:") for name in load)
    for name, seen in load.items():
        cap = dns_cap if name == "dns" else server_cap
        assert seen["peak"] <= cap, f"{name} answered {seen['peak']} at once (cap {cap})"
        assert seen["now"] == 0
    # The caps were reached, not merely respected by a trace that never overlapped.
    assert load["dns"]["peak"] == dns_cap
    assert load["rdap"]["peak"] == server_cap


def test_two_names_for_one_whois_server_share_its_cap() -> None:
    answering = 0
    peak = 0

    async def slow(query: str, writer: asyncio.StreamWriter) -> None:
        nonlocal answering, peak
        answering += 1
        peak = max(peak, answering)
        await asyncio.sleep(0.02)
        answering -= 1
        writer.write(f"Domain Name: {query}\r\nRegistrar: Test Registrar\r\n".encode())
        await writer.drain()

    async def run() -> int:
        async with whois_server(slow) as server:
            where = f"127.0.0.1:{server.port}"
            overrides = WhoisOverrides.parse(f"whois.one.example={where},whois.two.example={where}")
            limits = Limits(default_server=ServerPolicy(concurrency=2, rate=UNHURRIED))
            client = WhoisClient(overrides, limits)
            one, two = overrides.server("whois.one.example"), overrides.server("whois.two.example")
            asks = [client.ask(one if i % 2 else two, f"d{i}.example") for i in range(20)]
            await asyncio.gather(*asks)
            return len(server.queries)

    assert asyncio.run(run()) == 20
    assert peak == 2
