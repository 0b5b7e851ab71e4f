"""The port-43 client against WHOIS servers on loopback: referrals, overrides, hostile servers."""

from __future__ import annotations

import asyncio

import pytest

from hosting.common.errors import NotFound, QueryRefused, RateLimited, SourceTimeout
from hosting.common.limits import Limits, RetryPolicy, SizeCaps, SourceTimeouts
from hosting.whois.client import WhoisClient, WhoisOverrides, decode_whois
from tests.hosting.loopback import whois_answers, whois_server

pytestmark = pytest.mark.network

FAST = Limits(
    timeouts=SourceTimeouts(dns=1, rdap=1, whois=0.5),
    retry=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02),
    caps=SizeCaps(whois_bytes=4096),
)


def test_overrides_setting_is_read() -> None:
    parsed = WhoisOverrides.parse("bz=127.0.0.1:4343, ip=127.0.0.1:4344,whois.reg.example=h:43")
    assert parsed.tlds == {"bz": ("127.0.0.1", 4343)}
    assert parsed.first_ip == ("127.0.0.1", 4344)
    assert parsed.server("WHOIS.REG.EXAMPLE").host == "h"
    assert parsed.server("whois.other.example").host == "whois.other.example"
    with pytest.raises(ValueError):
        WhoisOverrides.parse("bz")


def test_thin_registry_referral_goes_to_the_overridden_registrar_server() -> None:
    async def run() -> None:
        registrar_text = (
            b"Domain Name: example.bz\r\nRegistrar: Good Registrar Ltd\r\n"
            b"Registrar Abuse Contact Email: abuse@good-registrar.example\r\n"
        )
        async with whois_server(whois_answers({"example.bz": registrar_text})) as registrar:
            registry_text = (
                b"Domain Name: EXAMPLE.BZ\r\n"
                b"Registrar WHOIS Server: whois.good-registrar.example\r\n"
                b"Registrar: Good Registrar Ltd\r\n"
            )
            async with whois_server(whois_answers({"example.bz": registry_text})) as registry:
                setting = (
                    f"bz=127.0.0.1:{registry.port},"
                    f"whois.good-registrar.example=127.0.0.1:{registrar.port}"
                )
                client = WhoisClient(WhoisOverrides.parse(setting), FAST)
                chain = await client.lookup_domain("example.bz")
        assert [a.server for a in chain.answers] == ["bz", "whois.good-registrar.example"]
        assert registrar.queries == ["example.bz"]
        assert chain.answers[1].evidence.sha256
        assert chain.failures == []

    asyncio.run(run())


def test_iana_referral_is_asked_for_the_tld_only() -> None:
    async def run() -> None:
        async with whois_server(whois_answers({"example.bz": b"Registrar: R\r\n"})) as registry:
            iana_text = f"domain: BZ\r\nrefer: whois.registry.example:{registry.port}\r\n"
            async with whois_server(whois_answers({"bz": iana_text.encode()})) as iana:
                setting = (
                    f"whois.iana.org=127.0.0.1:{iana.port},"
                    f"whois.registry.example=127.0.0.1:{registry.port}"
                )
                client = WhoisClient(WhoisOverrides.parse(setting), FAST)
                chain = await client.lookup_domain("example.bz")
        assert iana.queries == ["bz"]
        assert [a.server for a in chain.answers] == ["whois.iana.org", "whois.registry.example"]

    asyncio.run(run())


def test_rir_referral_follows_whois_scheme_and_ignores_rwhois() -> None:
    async def run() -> None:
        ripe_text = b"inetnum: 192.0.2.0 - 192.0.2.255\r\nnetname: TEST\r\n"
        async with whois_server(whois_answers({"192.0.2.1": ripe_text})) as ripe:
            first = f"NetRange: 192.0.0.0 - 192.0.255.255\r\nReferralServer: whois://whois.ripe.example:{ripe.port}\r\n"
            rwhois = b"NetRange: 198.51.100.0 - 198.51.100.255\r\nReferralServer: rwhois://rw.example:4321\r\n"
            answers = {"192.0.2.1": first.encode(), "198.51.100.1": rwhois}
            async with whois_server(whois_answers(answers)) as arin:
                setting = f"ip=127.0.0.1:{arin.port},whois.ripe.example=127.0.0.1:{ripe.port}"
                client = WhoisClient(WhoisOverrides.parse(setting), FAST)
                chain = await client.lookup_ip("192.0.2.1")
                single = await client.lookup_ip("198.51.100.1")
        assert [a.server for a in chain.answers] == ["127.0.0.1", "whois.ripe.example"]
        assert len(single.answers) == 1

    asyncio.run(run())


def test_server_that_trickles_forever_hits_the_hard_timeout() -> None:
    async def trickle(query: str, writer: asyncio.StreamWriter) -> None:
        for _ in range(1000):
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.05)

    async def run() -> None:
        async with whois_server(trickle) as server:
            client = WhoisClient(WhoisOverrides.parse(f"bz=127.0.0.1:{server.port}"), FAST)
            with pytest.raises(SourceTimeout):
                await client.lookup_domain("example.bz")
        assert len(server.queries) == FAST.retry.attempts

    asyncio.run(run())


def test_endless_flood_is_cut_at_the_byte_cap() -> None:
    async def flood(query: str, writer: asyncio.StreamWriter) -> None:
        for _ in range(10_000):
            writer.write(b"Registrar: Flood\r\n" * 64)
            await writer.drain()

    async def run() -> None:
        async with whois_server(flood) as server:
            client = WhoisClient(WhoisOverrides.parse(f"bz=127.0.0.1:{server.port}"), FAST)
            chain = await client.lookup_domain("example.bz")
        evidence = chain.answers[0].evidence
        assert evidence.truncated
        assert evidence.size == FAST.caps.whois_bytes

    asyncio.run(run())


def test_rate_limit_text_is_retried_then_reported() -> None:
    async def run() -> None:
        refusal = b"%% Query rate limit exceeded. Try again in 60 seconds.\r\n"
        async with whois_server(whois_answers({}, default=refusal)) as server:
            client = WhoisClient(WhoisOverrides.parse(f"bz=127.0.0.1:{server.port}"), FAST)
            with pytest.raises(RateLimited):
                await client.lookup_domain("example.bz")
        assert len(server.queries) == 2

    asyncio.run(run())


def test_access_denied_is_a_refusal_and_not_retried() -> None:
    async def run() -> None:
        async with whois_server(whois_answers({}, default=b"Access denied.\r\n")) as server:
            client = WhoisClient(WhoisOverrides.parse(f"bz=127.0.0.1:{server.port}"), FAST)
            with pytest.raises(QueryRefused):
                await client.lookup_domain("example.bz")
        assert len(server.queries) == 1

    asyncio.run(run())


def test_no_match_is_not_found() -> None:
    async def run() -> None:
        async with whois_server(whois_answers({})) as server:
            client = WhoisClient(WhoisOverrides.parse(f"bz=127.0.0.1:{server.port}"), FAST)
            with pytest.raises(NotFound):
                await client.lookup_domain("missing.bz")

    asyncio.run(run())


def test_non_utf8_answer_is_decoded_without_failing() -> None:
    assert decode_whois(b"owner: Jos\xe9 Mu\xf1oz\x00\r\n") == "owner: José Muñoz\r\n"
    assert decode_whois("registrar: Reg Ü".encode()) == "registrar: Reg Ü"


def test_query_with_line_break_is_never_sent() -> None:
    async def run() -> None:
        async with whois_server(whois_answers({})) as server:
            client = WhoisClient(WhoisOverrides.parse(f"bz=127.0.0.1:{server.port}"), FAST)
            with pytest.raises(Exception, match="characters"):
                await client.lookup_domain("evil.bz\r\nother")
        assert server.queries == []

    asyncio.run(run())
