"""The probe against the sandbox's simulated internet: its DNS, its web hosts, its digests."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from hosting.probe.prober import ProbeOutcome, ProbeResult, build_prober
from sandbox.testing import SandboxHandle, running_sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox() as handle:
        yield handle


def _probe_all(sandbox: SandboxHandle, items: list[tuple[str, str | None]]) -> list[ProbeResult]:
    env = sandbox.env

    async def run() -> list[ProbeResult]:
        async with build_prober(
            dns_nameservers=env["TAKEDOWN_DNS_NAMESERVERS"],
            allowed_networks=env["TAKEDOWN_PROBE_ALLOWED_NETWORKS"].split(","),
            user_agent="TakedownProbe/test",
        ) as prober:
            return await prober.probe_many(items)

    return asyncio.run(run())


def test_every_served_url_of_the_world_is_present_with_its_digest(sandbox: SandboxHandle) -> None:
    urls = sandbox.world.urls
    results = _probe_all(sandbox, [(u.url(sandbox.ports.content), u.sha256) for u in urls])
    for url, result in zip(urls, results, strict=True):
        state = sandbox.url_state(url.key)
        if state["state"] == "served":
            assert (result.outcome, result.sha256) == (ProbeOutcome.PRESENT, url.sha256), url.key
        else:
            assert result.outcome is not ProbeOutcome.PRESENT, (url.key, state)
    assert any(r.outcome is ProbeOutcome.PRESENT for r in results)


def test_another_digest_is_changed_and_an_unknown_path_removed(sandbox: SandboxHandle) -> None:
    served = next(u for u in sandbox.world.urls if sandbox.url_state(u.key)["state"] == "served")
    url = served.url(sandbox.ports.content)
    changed, missing = _probe_all(sandbox, [(url, "0" * 64), (url + "-not-there", None)])
    assert changed.outcome is ProbeOutcome.CHANGED and changed.sha256 == served.sha256
    assert (missing.outcome, missing.status) == (ProbeOutcome.REMOVED, 404)


def test_without_the_sandbox_s_allowance_nothing_is_probed(sandbox: SandboxHandle) -> None:
    served = next(u for u in sandbox.world.urls if sandbox.url_state(u.key)["state"] == "served")
    url = served.url(sandbox.ports.content)

    async def run() -> ProbeResult:
        async with build_prober(
            dns_nameservers=sandbox.env["TAKEDOWN_DNS_NAMESERVERS"], user_agent="t"
        ) as prober:
            return await prober.probe(url)

    result = asyncio.run(run())
    assert result.outcome is ProbeOutcome.BLOCKED and result.error is not None
    assert "loopback address" in result.error
