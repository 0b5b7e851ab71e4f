"""The RDAP client against a tiny HTTP server on loopback, and the bootstrap it relies on."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from hosting.common.errors import (
    MalformedAnswer,
    NoServiceKnown,
    NotFound,
    RateLimited,
    SourceTimeout,
)
from hosting.common.limits import (
    Limits,
    RateLimit,
    RetryPolicy,
    ServerPolicy,
    SizeCaps,
    SourceTimeouts,
)
from hosting.common.politeness import ServerGates
from hosting.common.reach import AddressPolicy
from hosting.rdap.bootstrap import RdapBootstrap
from hosting.rdap.client import RdapClient, parse_retry_after
from tests.hosting.loopback import HttpReply, http_server
from tests.hosting.rdap_world import write_bootstrap

pytestmark = pytest.mark.network

FAST = Limits(
    timeouts=SourceTimeouts(dns=1, rdap=0.5, whois=1),
    retry=RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02, max_retry_after=0.2),
    caps=SizeCaps(rdap_bytes=50_000),
)
DOMAIN = {
    "objectClassName": "domain",
    "ldhName": "example.bz",
    "entities": [
        {
            "roles": ["registrar"],
            "vcardArray": ["vcard", [["fn", {}, "text", "Good Registrar"]]],
            "publicIds": [{"type": "IANA Registrar ID", "identifier": "4242"}],
            "entities": [
                {
                    "roles": ["abuse"],
                    "vcardArray": [
                        "vcard",
                        [["email", {}, "text", "abuse@good-registrar.example"]],
                    ],
                }
            ],
        }
    ],
}


async def _client(
    base: str, tmp_path: Path, limits: Limits = FAST, policy: AddressPolicy | None = None
) -> tuple[RdapClient, httpx.AsyncClient]:
    http = httpx.AsyncClient(trust_env=False)
    bootstrap = RdapBootstrap.from_directory(write_bootstrap(tmp_path / "bs", base))
    client = RdapClient(http, bootstrap, limits, bootstrap_base=base + "bootstrap/", policy=policy)
    return client, http


def test_domain_answer_is_read_with_evidence(tmp_path: Path) -> None:
    async def run() -> None:
        async with http_server(lambda path: HttpReply(body=json.dumps(DOMAIN).encode())) as srv:
            client, http = await _client(srv.base, tmp_path)
            async with http:
                answer = await client.domain("example.bz")
        assert srv.paths == ["/domain/example.bz"]
        assert answer.data["ldhName"] == "example.bz"
        assert answer.server == "127.0.0.1"
        assert answer.evidence.kind == "rdap" and len(answer.evidence.sha256) == 64

    asyncio.run(run())


def test_429_with_retry_after_is_honoured_then_succeeds(tmp_path: Path) -> None:
    replies = [
        HttpReply(429, b"", {"Retry-After": "0"}),
        HttpReply(body=json.dumps(DOMAIN).encode()),
    ]

    async def run() -> None:
        async with http_server(lambda path: replies.pop(0)) as srv:
            client, http = await _client(srv.base, tmp_path)
            async with http:
                answer = await client.domain("example.bz")
        assert len(srv.paths) == 2
        assert answer.data["objectClassName"] == "domain"

    asyncio.run(run())


def test_retry_after_longer_than_policy_gives_up(tmp_path: Path) -> None:
    async def run() -> None:
        reply = HttpReply(429, b"slow down", {"Retry-After": "3600"})
        async with http_server(lambda path: reply) as srv:
            client, http = await _client(srv.base, tmp_path)
            async with http:
                with pytest.raises(RateLimited) as caught:
                    await client.ip("192.0.2.1")
        assert caught.value.retry_after == 3600
        assert len(srv.paths) == 1

    asyncio.run(run())


def test_not_found_oversized_and_malformed_answers(tmp_path: Path) -> None:
    def handler(path: str) -> HttpReply:
        if "missing" in path:
            return HttpReply(404, b"{}")
        if "huge" in path:
            return HttpReply(body=b"[" + b"1," * 100_000 + b"1]")
        return HttpReply(body=b"\xff\xfe not json")

    async def run() -> None:
        async with http_server(handler) as srv:
            client, http = await _client(srv.base, tmp_path)
            async with http:
                with pytest.raises(NotFound):
                    await client.domain("missing.bz")
                with pytest.raises(MalformedAnswer, match="size cap"):
                    await client.domain("huge.bz")
                with pytest.raises(MalformedAnswer, match="not JSON"):
                    await client.domain("broken.bz")

    asyncio.run(run())


def test_slow_server_hits_the_hard_timeout(tmp_path: Path) -> None:
    async def run() -> None:
        async with http_server(lambda path: HttpReply(body=b"{}", delay=5)) as srv:
            client, http = await _client(srv.base, tmp_path)
            async with http:
                with pytest.raises(SourceTimeout):
                    await client.domain("slow.bz")
        assert len(srv.paths) == FAST.retry.attempts

    asyncio.run(run())


def test_redirect_is_followed_and_evidence_names_the_final_server(tmp_path: Path) -> None:
    async def run() -> None:
        async with http_server(lambda path: HttpReply(body=json.dumps(DOMAIN).encode())) as final:
            target = f"http://localhost:{final.port}/domain/example.bz"
            reply = HttpReply(302, b"", {"Location": target})
            async with http_server(lambda path: reply) as first:
                # A redirect is registry data: loopback is reachable only when allowed.
                allowed = AddressPolicy(["127.0.0.0/8", "::1/128"])
                client, http = await _client(first.base, tmp_path, policy=allowed)
                async with http:
                    answer = await client.domain("example.bz")
        assert answer.server == "localhost"

    asyncio.run(run())


def test_waiting_for_the_redirect_targets_gate_is_not_part_of_the_timeout(
    tmp_path: Path,
) -> None:
    one_at_a_time = replace(
        FAST, default_server=ServerPolicy(concurrency=1, rate=RateLimit(1e6, 1, burst=1000))
    )

    async def run() -> None:
        async with http_server(lambda path: HttpReply(body=json.dumps(DOMAIN).encode())) as final:
            target = f"http://127.0.0.1:{final.port}/domain/example.bz"
            reply = HttpReply(302, b"", {"Location": target})
            async with http_server(lambda path: reply) as first:
                gates = ServerGates(one_at_a_time)
                bootstrap = RdapBootstrap.from_directory(
                    write_bootstrap(tmp_path / "bs", first.base)
                )
                async with httpx.AsyncClient(trust_env=False) as http:
                    client = RdapClient(
                        http,
                        bootstrap,
                        one_at_a_time,
                        gates,
                        policy=AddressPolicy(["127.0.0.0/8"]),
                    )
                    # Another query holds the final server's only slot for twice the timeout.
                    async with gates.for_server("127.0.0.1", final.port):
                        lookup = asyncio.ensure_future(client.domain("example.bz"))
                        await asyncio.sleep(one_at_a_time.timeouts.rdap * 2)
                        assert not lookup.done()
                        assert final.paths == []
                    answer = await lookup
        assert first.paths == ["/domain/example.bz"]
        assert final.paths == ["/domain/example.bz"]
        assert answer.data["ldhName"] == "example.bz"

    asyncio.run(run())


def test_retry_after_as_http_date() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert parse_retry_after("Wed, 01 Jan 2025 00:00:30 GMT", now) == 30
    assert parse_retry_after("120") == 120
    assert parse_retry_after("soon") is None


def test_packaged_bootstrap_is_dated_and_routes_real_registries() -> None:
    bootstrap = RdapBootstrap.packaged()
    assert bootstrap.publication() == datetime(2019, 6, 7, 19, 0, 2, tzinfo=UTC)
    assert bootstrap.is_stale()
    assert bootstrap.for_domain("example.com")[0].startswith("https://rdap.verisign.com/com/")
    assert "rdap.db.ripe.net" in bootstrap.for_address("62.239.237.1")[0]
    assert "rdap.arin.net" in bootstrap.for_address("2001:4860:4860::8888")[0]
    assert "lacnic" in bootstrap.for_asn(28000)[0]
    with pytest.raises(NoServiceKnown):
        bootstrap.for_domain("example.invalid-tld-xyz")


def test_stale_bootstrap_is_refreshed_from_the_network_when_it_answers(tmp_path: Path) -> None:
    fresh = write_bootstrap(
        tmp_path / "fresh", "https://rdap.fresh.example/", "2099-01-01T00:00:00Z"
    )

    def handler(path: str) -> HttpReply:
        name = path.rsplit("/", 1)[1]
        return HttpReply(body=(fresh / name).read_bytes())

    async def run() -> None:
        async with http_server(handler) as srv:
            client, http = await _client(srv.base, tmp_path)
            async with http:
                old = client.bootstrap
                assert old.is_stale(now=datetime(2025, 1, 1, tzinfo=UTC))
                new = await old.refreshed(client.fetch_bootstrap_file)
        assert new.for_domain("x.bz") == ["https://rdap.fresh.example/"]
        assert not new.is_stale(now=datetime(2099, 1, 2, tzinfo=UTC))
        assert new.is_stale(now=datetime(2099, 1, 1, tzinfo=UTC) + timedelta(hours=49))

    asyncio.run(run())


def test_failed_refresh_keeps_the_old_bootstrap(tmp_path: Path) -> None:
    async def run() -> None:
        async with http_server(lambda path: HttpReply(404, b"")) as srv:
            client, http = await _client(srv.base, tmp_path)
            async with http:
                old = client.bootstrap
                assert await old.refreshed(client.fetch_bootstrap_file) is old

    asyncio.run(run())
