"""The DNS client against a dnspython-built nameserver on loopback UDP."""

from __future__ import annotations

import asyncio

import pytest

from hosting.common.limits import Limits, SourceTimeouts
from hosting.dns.lookups import DnsClient, DnsStatus, parse_nameservers
from tests.hosting.loopback import Zone, dns_server

pytestmark = pytest.mark.network

FAST = Limits(timeouts=SourceTimeouts(dns=0.6, rdap=1, whois=1))


def _zone() -> Zone:
    return Zone(
        a={"origin.example": ["192.0.2.10"], "plain.example": ["198.51.100.7"]},
        aaaa={"origin.example": ["2001:db8::10"]},
        cname={"www.example.bz": "edge.example", "edge.example": "origin.example"},
        servfail={"broken.example"},
        silent={"silent.example"},
    )


def test_nameserver_setting_forms() -> None:
    assert parse_nameservers("127.0.0.1:5353, ::1, [::1]:53") == [
        ("127.0.0.1", 5353),
        ("::1", 53),
        ("::1", 53),
    ]
    assert parse_nameservers("") == []
    with pytest.raises(ValueError):
        parse_nameservers("resolver.example:53")


def test_addresses_and_the_full_cname_chain() -> None:
    async def run() -> None:
        zone = _zone()
        async with dns_server(zone) as port:
            client = DnsClient.from_setting(f"127.0.0.1:{port}", FAST)
            answer = await client.resolve_host("www.example.bz")
        assert answer.status is DnsStatus.OK
        assert answer.addresses == ["192.0.2.10", "2001:db8::10"]
        assert answer.cname_chain == ["edge.example", "origin.example"]
        assert {e.kind for e in answer.evidence} == {"dns"}
        assert answer.evidence[0].server == f"127.0.0.1:{port}"

    asyncio.run(run())


@pytest.mark.parametrize(
    "host", ["www.example.bz", "plain.example", "origin.example", "missing.example", "alias.none"]
)
def test_the_quick_try_agrees_with_dnspython(host: str) -> None:
    async def run() -> None:
        zone = _zone()
        zone.cname["alias.none"] = "plain.example"  # an alias to a name without AAAA records
        async with dns_server(zone) as port:
            nameservers = parse_nameservers(f"127.0.0.1:{port}")
            quick = await DnsClient(nameservers, FAST).resolve_host(host)
            general = await DnsClient(nameservers, FAST, quick=False).resolve_host(host)
        assert (quick.status, quick.addresses, quick.cname_chain) == (
            general.status,
            general.addresses,
            general.cname_chain,
        )
        assert [(e.server, e.query) for e in quick.evidence] == [
            (e.server, e.query) for e in general.evidence
        ]

    asyncio.run(run())


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("missing.example", DnsStatus.NXDOMAIN),
        ("broken.example", DnsStatus.SERVFAIL),
        ("silent.example", DnsStatus.TIMEOUT),
    ],
)
def test_failures_are_distinct_outcomes(host: str, status: DnsStatus) -> None:
    async def run() -> None:
        async with dns_server(_zone()) as port:
            answer = await DnsClient.from_setting(f"127.0.0.1:{port}", FAST).resolve_host(host)
        assert answer.status is status
        assert answer.addresses == []

    asyncio.run(run())


def test_name_without_address_records_is_no_answer() -> None:
    async def run() -> None:
        zone = Zone(cname={"alias.example": "target.example"}, a={"target.example": []})
        async with dns_server(zone) as port:
            answer = await DnsClient.from_setting(f"127.0.0.1:{port}", FAST).resolve_host(
                "target.example"
            )
        assert answer.status is DnsStatus.NO_ANSWER

    asyncio.run(run())


def test_answer_round_trips_through_json() -> None:
    async def run() -> None:
        async with dns_server(_zone()) as port:
            answer = await DnsClient.from_setting(f"127.0.0.1:{port}", FAST).resolve_host(
                "plain.example"
            )
        again = type(answer).from_json(answer.to_json())
        assert again.addresses == ["198.51.100.7"]
        assert again.evidence[0].sha256 == answer.evidence[0].sha256

    asyncio.run(run())
