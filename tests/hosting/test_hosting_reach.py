"""One address policy for every connection registry data chooses: WHOIS referrals and RDAP
redirects to loopback, private, link-local or reserved addresses are refused (a trap listening
on loopback sees no connection) unless the probe's allowed networks include them; what the
operator configured is trusted as configured."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from hosting.common.errors import RefusedTarget
from hosting.common.limits import Limits, RetryPolicy, SourceTimeouts
from hosting.common.reach import AddressPolicy
from hosting.probe.policy import AddressPolicy as ProbePolicy
from hosting.rdap.bootstrap import RdapBootstrap
from hosting.rdap.client import RdapClient
from hosting.trace.sources import whois_domain
from hosting.whois.client import WhoisClient, WhoisOverrides
from tests.hosting.loopback import HttpReply, http_server, trap_server, whois_answers, whois_server
from tests.hosting.rdap_world import write_bootstrap

FAST = Limits(
    timeouts=SourceTimeouts(dns=1.0, rdap=2.0, whois=2.0),
    retry=RetryPolicy(attempts=1, base_delay=0.01, max_delay=0.01, max_retry_after=0.0),
)
DOMAIN = {"objectClassName": "domain", "ldhName": "example.bz"}


def test_the_probe_and_the_tracer_share_one_policy() -> None:
    assert ProbePolicy is AddressPolicy


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.2", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("169.254.169.254", "link-local"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("::ffff:127.0.0.1", "loopback"),
    ],
)
def test_non_public_addresses_are_refused_without_connecting(address: str, kind: str) -> None:
    with pytest.raises(RefusedTarget, match=kind) as refused:
        asyncio.run(AddressPolicy().vetted_address(address, 43, "WHOIS referral"))
    assert address.rpartition(":")[2] in str(refused.value)


def test_allowed_networks_let_the_sandbox_through() -> None:
    policy = AddressPolicy(["127.0.0.0/8"])
    assert asyncio.run(policy.vetted_address("127.0.0.2", 43, "WHOIS referral")) == "127.0.0.2"
    with pytest.raises(RefusedTarget):
        asyncio.run(policy.vetted_address("10.0.0.1", 43, "WHOIS referral"))


@pytest.mark.parametrize(
    "referral",
    [
        "ReferralServer: whois://127.0.0.2:{port}",
        "refer: 127.0.0.2:{port}",
        "Registrar WHOIS Server: localhost:{port}",
    ],
)
def test_a_whois_referral_to_loopback_is_refused_and_recorded(referral: str) -> None:
    async def run() -> tuple[int, list[str], list[str]]:
        async with trap_server("127.0.0.2" if "127" in referral else "127.0.0.1") as trap:
            answer = f"Domain Name: EXAMPLE.BZ\nRegistrar: Example\n{referral}\n"
            text = answer.format(port=trap.port).encode()
            async with whois_server(whois_answers({}, default=text)) as registry:
                # The registry is configured (an override): trusted. Its referral is not.
                overrides = WhoisOverrides.parse(f"bz=127.0.0.1:{registry.port}")
                client = WhoisClient(overrides, FAST)
                outcome, _ = await whois_domain(client, "example.bz", 100_000)
                return trap.connections, registry.queries, list(getattr(outcome, "notes", []))

    connections, asked, notes = asyncio.run(run())
    assert connections == 0
    assert asked == ["example.bz"]
    refused = [n for n in notes if "REFUSED_TARGET" in n]
    assert refused and "loopback" in refused[0]
    assert "127.0.0.2" in refused[0] or "127.0.0.1" in refused[0]


def test_a_whois_referral_the_overrides_name_is_trusted() -> None:
    async def run() -> list[str]:
        async with whois_server(whois_answers({}, default=b"Registrar: Example\n")) as registrar:
            text = b"Domain Name: EXAMPLE.BZ\nRegistrar WHOIS Server: whois.registrar.example\n"
            async with whois_server(whois_answers({}, default=text)) as registry:
                overrides = WhoisOverrides.parse(
                    f"bz=127.0.0.1:{registry.port},"
                    f"whois.registrar.example=127.0.0.1:{registrar.port}"
                )
                chain = await WhoisClient(overrides, FAST).lookup_domain("example.bz")
                assert not chain.failures
                return registrar.queries

    assert asyncio.run(run()) == ["example.bz"]


async def _rdap(base: str, tmp_path: Path, policy: AddressPolicy | None = None) -> RdapClient:
    bootstrap = RdapBootstrap.from_directory(write_bootstrap(tmp_path / "bs", base))
    http = httpx.AsyncClient(trust_env=False)
    return RdapClient(http, bootstrap, FAST, bootstrap_base=base + "bootstrap/", policy=policy)


@pytest.mark.parametrize("host", ["127.0.0.2", "::1"])
def test_an_rdap_redirect_to_loopback_is_refused(host: str, tmp_path: Path) -> None:
    async def run() -> int:
        async with trap_server(host) as trap:
            shown = f"[{host}]" if ":" in host else host
            target = f"http://{shown}:{trap.port}/domain/example.bz"
            reply = HttpReply(302, b"", {"Location": target})
            async with http_server(lambda path: reply) as registry:
                client = await _rdap(registry.base, tmp_path)
                with pytest.raises(RefusedTarget, match="loopback"):
                    await client.domain("example.bz")
        return trap.connections

    assert asyncio.run(run()) == 0


@pytest.mark.parametrize(
    "target",
    ["http://10.0.0.1/domain/example.bz", "http://169.254.169.254/latest/meta-data/"],
)
def test_an_rdap_redirect_to_private_or_link_local_is_refused(target: str, tmp_path: Path) -> None:
    async def run() -> None:
        reply = HttpReply(302, b"", {"Location": target})
        async with http_server(lambda path: reply) as registry:
            client = await _rdap(registry.base, tmp_path)
            with pytest.raises(RefusedTarget, match=r"private|link-local"):
                await client.domain("example.bz")

    asyncio.run(run())


def test_an_allowed_rdap_redirect_is_fetched_at_the_judged_address(tmp_path: Path) -> None:
    async def run() -> tuple[str, list[str]]:
        async with http_server(lambda path: HttpReply(body=json.dumps(DOMAIN).encode())) as final:
            target = f"http://localhost:{final.port}/domain/example.bz"
            reply = HttpReply(302, b"", {"Location": target})
            async with http_server(lambda path: reply) as first:
                policy = AddressPolicy(["127.0.0.0/8", "::1/128"])
                client = await _rdap(first.base, tmp_path, policy)
                answer = await client.domain("example.bz")
                return answer.server, final.paths

    server, paths = asyncio.run(run())
    assert server == "localhost"
    assert paths == ["/domain/example.bz"]
