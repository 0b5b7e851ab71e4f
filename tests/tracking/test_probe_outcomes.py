"""What the probe makes of real answers from loopback servers."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from hosting.probe.fetch import TcpConnector
from hosting.probe.policy import ParkingCatalogue
from hosting.probe.prober import ProbeLimits, ProbeOutcome
from tests.tracking.conftest import ITEM, ITEM_SHA256, USER_AGENT, make_prober, probe
from tests.tracking.loopback import DnsServer, Route, WebServer, Zone, closed_port, self_signed

HOST = "files.example.bz"


@pytest.fixture(autouse=True)
def _host(zone: Zone) -> None:
    zone.a[HOST] = ["127.0.0.1"]


def test_same_digest_is_present_and_the_request_looks_like_a_browser_s(
    web: WebServer, resolver: DnsServer
) -> None:
    result = probe(resolver, web.url("/item", HOST))
    assert result.outcome is ProbeOutcome.PRESENT
    assert (result.status, result.address, result.sha256) == (200, "127.0.0.1", ITEM_SHA256)
    assert result.bytes_read == len(ITEM) and result.error is None
    assert web.requests == [(f"{HOST}:{web.port}", "/item", USER_AGENT)]


def test_any_body_is_present_when_no_digest_is_known(web: WebServer, resolver: DnsServer) -> None:
    result = probe(resolver, web.url("/item", HOST), expected=None)
    assert result.outcome is ProbeOutcome.PRESENT and result.sha256 == ITEM_SHA256


def test_another_digest_is_changed(web: WebServer, resolver: DnsServer) -> None:
    web.routes["/other"] = Route(200, b"something else entirely")
    result = probe(resolver, web.url("/other", HOST))
    assert result.outcome is ProbeOutcome.CHANGED
    assert result.sha256 == hashlib.sha256(b"something else entirely").hexdigest()


def test_a_chunked_body_is_hashed_whole(web: WebServer, resolver: DnsServer) -> None:
    web.routes["/chunked"] = Route(200, ITEM, chunked=True)
    result = probe(resolver, web.url("/chunked", HOST))
    assert result.outcome is ProbeOutcome.PRESENT and result.bytes_read == len(ITEM)


@pytest.mark.parametrize("status", [404, 410, 451])
def test_gone_statuses_are_removed(web: WebServer, resolver: DnsServer, status: int) -> None:
    web.routes["/gone"] = Route(status, b"gone")
    result = probe(resolver, web.url("/gone", HOST))
    assert (result.outcome, result.status, result.error) == (
        ProbeOutcome.REMOVED,
        status,
        f"HTTP {status}",
    )
    assert result.sha256 is None


@pytest.mark.parametrize("status", [500, 503, 403, 429])
def test_server_errors_and_refusals_are_inconclusive(
    web: WebServer, resolver: DnsServer, status: int
) -> None:
    web.routes["/error"] = Route(status, b"oops")
    result = probe(resolver, web.url("/error", HOST))
    assert (result.outcome, result.status) == (ProbeOutcome.UNREACHABLE, status)


def test_a_server_that_never_answers_hits_the_hard_timeout(
    web: WebServer, resolver: DnsServer
) -> None:
    web.routes["/hang"] = Route(hang=True)
    result = probe(resolver, web.url("/hang", HOST), limits=ProbeLimits(timeout=0.5))
    assert result.outcome is ProbeOutcome.UNREACHABLE
    assert result.error == "no complete answer within 0.5 s"
    assert web.paths()["/hang"] == 1


def test_a_refused_connection_is_unreachable(resolver: DnsServer) -> None:
    result = probe(resolver, f"http://{HOST}:{closed_port()}/item")
    assert (result.outcome, result.error) == (ProbeOutcome.UNREACHABLE, "connection refused")
    assert result.address == "127.0.0.1"


def test_a_body_over_the_byte_cap_is_not_hashed(web: WebServer, resolver: DnsServer) -> None:
    web.routes["/huge"] = Route(200, stream_bytes=8 * 2**20)
    limits = ProbeLimits(timeout=5.0, max_bytes=2**20)
    result = probe(resolver, web.url("/huge", HOST), limits=limits)
    assert result.outcome is ProbeOutcome.CHANGED
    assert result.sha256 is None and result.bytes_read == 2**20
    assert result.error == f"body larger than {2**20} bytes; not hashed"
    unknown = probe(resolver, web.url("/huge", HOST), expected=None, limits=limits)
    assert unknown.outcome is ProbeOutcome.PRESENT and unknown.sha256 is None


def _chain(web: WebServer, length: int) -> str:
    for i in range(length):
        target = f"/chain{length}-{i + 1}" if i + 1 < length else "/item"
        web.routes[f"/chain{length}-{i}"] = Route(302, headers={"Location": target})
    return web.url(f"/chain{length}-0", HOST)


def test_five_redirects_are_followed(web: WebServer, resolver: DnsServer) -> None:
    result = probe(resolver, _chain(web, 5))
    assert (result.outcome, result.redirects, result.status) == (ProbeOutcome.PRESENT, 5, 200)
    assert web.paths()["/item"] == 1


def test_six_redirects_are_too_many(web: WebServer, resolver: DnsServer) -> None:
    result = probe(resolver, _chain(web, 6))
    assert (result.outcome, result.error) == (ProbeOutcome.UNREACHABLE, "more than 5 redirects")
    assert web.paths()["/item"] == 0 and len(web.requests) == 6


def test_a_redirect_to_another_host_is_resolved_and_sent_that_host(
    web: WebServer, resolver: DnsServer, zone: Zone
) -> None:
    zone.a["mirror.example.ky"] = ["127.0.0.1"]
    web.routes["/moved"] = Route(301, headers={"Location": web.url("/item", "mirror.example.ky")})
    result = probe(resolver, web.url("/moved", HOST))
    assert result.outcome is ProbeOutcome.PRESENT
    assert [h for h, _, _ in web.requests] == [
        f"{HOST}:{web.port}",
        f"mirror.example.ky:{web.port}",
    ]


def test_nxdomain_is_removed(resolver: DnsServer) -> None:
    result = probe(resolver, "http://gone.example.bz/item")
    assert (result.outcome, result.error) == (ProbeOutcome.REMOVED, "DNS: NXDOMAIN")
    assert result.address is None


def test_a_redirect_to_a_parking_host_is_removed_without_asking_it(
    web: WebServer, resolver: DnsServer
) -> None:
    web.routes["/sold"] = Route(302, headers={"Location": "http://www.sedoparking.com/x"})
    result = probe(resolver, web.url("/sold", HOST))
    assert result.outcome is ProbeOutcome.REMOVED
    assert result.error == "redirected to a parking host (sedoparking.com)"
    assert "www.sedoparking.com." not in resolver.asked


def test_a_domain_delegated_to_a_parking_service_is_removed(
    web: WebServer, resolver: DnsServer, zone: Zone
) -> None:
    zone.ns["example.bz"] = ["ns1.sedoparking.com", "ns2.sedoparking.com"]
    web.routes["/parked"] = Route(200, b"<html>this domain may be for sale</html>")
    result = probe(resolver, web.url("/parked", HOST))
    assert (result.outcome, result.error) == (
        ProbeOutcome.REMOVED,
        "domain is parked (sedoparking.com)",
    )
    # The confirmed item itself is still the item, whoever answers for the domain.
    assert probe(resolver, web.url("/item", HOST)).outcome is ProbeOutcome.PRESENT


def test_an_extra_parking_list_extends_the_shipped_one(tmp_path: Path) -> None:
    extra = tmp_path / "parking.json"
    extra.write_text('{"hosts": ["parked.example"], "nameservers": ["ns.parked.example"]}')
    catalogue = ParkingCatalogue.load([extra])
    assert catalogue.parking_host("www.parked.example") == "parked.example"
    assert catalogue.parking_host("sedoparking.com") == "sedoparking.com"
    assert catalogue.parking_host("notparked.example") is None
    assert catalogue.parking_nameserver(["a.ns.parked.example."]) == "ns.parked.example"


def test_https_with_a_trusted_certificate_is_verified_against_the_name(
    resolver: DnsServer, zone: Zone, tmp_path: Path
) -> None:
    zone.a["secure.example.bz"] = ["127.0.0.1"]
    cert = self_signed(tmp_path, "secure.example.bz")
    with WebServer("127.0.0.1", tls=cert.server_context()) as tls:
        tls.routes["/item"] = Route(200, ITEM)
        url = tls.url("/item", "secure.example.bz")
        trusted = TcpConnector(cert.client_context())
        assert probe(resolver, url, connector=trusted).outcome is ProbeOutcome.PRESENT
        untrusted = probe(resolver, url, connector=TcpConnector())
        assert untrusted.outcome is ProbeOutcome.UNREACHABLE
        assert untrusted.error is not None
        assert untrusted.error.startswith("TLS certificate not accepted")


def test_https_with_a_certificate_for_another_name_is_unreachable(
    resolver: DnsServer, zone: Zone, tmp_path: Path
) -> None:
    zone.a["secure.example.bz"] = ["127.0.0.1"]
    cert = self_signed(tmp_path, "other.example.ky")
    with WebServer("127.0.0.1", tls=cert.server_context()) as tls:
        tls.routes["/item"] = Route(200, ITEM)
        result = probe(
            resolver,
            tls.url("/item", "secure.example.bz"),
            connector=TcpConnector(cert.client_context()),
        )
    assert result.outcome is ProbeOutcome.UNREACHABLE
    assert result.error is not None and "Hostname mismatch" in result.error
    assert tls.requests == []


def _probe_twice(resolver: DnsServer, url: str) -> list[ProbeOutcome]:
    async def run() -> list[ProbeOutcome]:
        async with make_prober(resolver) as prober:
            return [(await prober.probe(url, ITEM_SHA256)).outcome for _ in range(2)]

    return asyncio.run(run())


def test_a_kept_alive_connection_is_reused_for_the_same_address(
    web: WebServer, resolver: DnsServer
) -> None:
    web.keep_alive_limit = 100
    assert _probe_twice(resolver, web.url("/item", HOST)) == [ProbeOutcome.PRESENT] * 2
    assert (len(web.requests), web.connections) == (2, 1)


def test_a_kept_alive_connection_closed_by_the_server_is_replaced(
    web: WebServer, resolver: DnsServer
) -> None:
    web.keep_alive_limit = 1  # promises keep-alive, then closes after each answer
    assert _probe_twice(resolver, web.url("/item", HOST)) == [ProbeOutcome.PRESENT] * 2
    assert (len(web.requests), web.connections) == (2, 2)


def test_a_header_too_long_to_read_is_unreachable(web: WebServer, resolver: DnsServer) -> None:
    web.routes["/long"] = Route(200, ITEM, headers={"X-Filler": "a" * 100_000})
    result = probe(resolver, web.url("/long", HOST))
    assert (result.outcome, result.error) == (
        ProbeOutcome.UNREACHABLE,
        "the response header is too long",
    )
