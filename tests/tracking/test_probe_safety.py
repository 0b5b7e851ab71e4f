"""The probe is not an open proxy: forbidden addresses are never connected to without allowance."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator

import pytest

from hosting.probe.policy import AddressPolicy, InvalidNetwork
from hosting.probe.prober import ProbeOutcome
from tests.tracking.conftest import ITEM, probe
from tests.tracking.loopback import DnsServer, RecordingConnector, Route, WebServer, Zone


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.fixture
def target() -> Iterator[WebServer]:
    """A LISTENING server on 127.0.0.2: the probe must not reach it unless allowed."""
    with WebServer("127.0.0.2") as server:
        server.routes["/item"] = Route(200, ITEM)
        yield server


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("10.0.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "non-public"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
    ],
)
def test_non_public_addresses_are_refused(address: str, kind: str) -> None:
    refusal = AddressPolicy().refusal(address)
    assert refusal == f"a {kind} address ({ipaddress.ip_address(address)})"


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert AddressPolicy().refusal(address) is None


def test_an_allowance_opens_only_its_own_network() -> None:
    policy = AddressPolicy(["127.0.0.0/8", "::1/128"])
    assert policy.refusal("127.16.0.10") is None and policy.refusal("::1") is None
    assert policy.refusal("::ffff:127.0.0.1") is None
    assert policy.refusal("10.0.0.1") == "a private address (10.0.0.1)"
    with pytest.raises(InvalidNetwork):
        AddressPolicy(["not-a-network"])


def test_a_name_resolving_to_loopback_is_blocked_and_the_server_sees_nothing(
    target: WebServer, resolver: DnsServer, zone: Zone
) -> None:
    zone.a["evil.example.bz"] = ["127.0.0.2"]
    url = target.url("/item", "evil.example.bz")
    result = probe(resolver, url, allowed=())
    assert result.outcome is ProbeOutcome.BLOCKED
    assert result.error == "not probed: the host resolves to a loopback address (127.0.0.2)"
    assert target.connections == 0
    allowed = probe(resolver, url, allowed=("127.0.0.0/8",))
    assert allowed.outcome is ProbeOutcome.PRESENT and target.paths()["/item"] == 1


def test_a_loopback_ip_literal_is_blocked_too(target: WebServer, resolver: DnsServer) -> None:
    result = probe(resolver, target.url("/item"), allowed=())
    assert result.outcome is ProbeOutcome.BLOCKED and target.connections == 0


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_a_name_resolving_to_ipv6_loopback_is_blocked(resolver: DnsServer, zone: Zone) -> None:
    zone.aaaa["evil6.example.bz"] = ["::1"]
    with WebServer("::1") as server:
        server.routes["/item"] = Route(200, ITEM)
        url = server.url("/item", "evil6.example.bz")
        assert probe(resolver, url, allowed=()).outcome is ProbeOutcome.BLOCKED
        assert server.connections == 0
        assert probe(resolver, url, allowed=("::1/128",)).outcome is ProbeOutcome.PRESENT
        assert server.paths()["/item"] == 1


@pytest.mark.parametrize("address", ["10.0.0.1", "169.254.169.254"])
def test_private_and_metadata_addresses_are_never_connected_to(
    resolver: DnsServer, zone: Zone, address: str
) -> None:
    zone.a["internal.example.bz"] = [address]
    connector = RecordingConnector()
    result = probe(resolver, "http://internal.example.bz/", allowed=(), connector=connector)
    assert result.outcome is ProbeOutcome.BLOCKED and connector.attempts == []
    # With the network allowed, the probe goes there (the test connector stops it on the way).
    allowed = probe(
        resolver, "http://internal.example.bz/", allowed=(f"{address}/32",), connector=connector
    )
    assert connector.attempts == [(address, 80)]
    assert allowed.outcome is ProbeOutcome.UNREACHABLE


def test_a_redirect_to_a_forbidden_address_is_blocked_before_connecting(
    web: WebServer, target: WebServer, resolver: DnsServer, zone: Zone
) -> None:
    zone.a["files.example.bz"] = ["127.0.0.1"]
    zone.a["evil.example.bz"] = ["127.0.0.2"]
    web.routes["/to-loopback"] = Route(
        302, headers={"Location": target.url("/item", "evil.example.bz")}
    )
    web.routes["/to-metadata"] = Route(
        302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
    )
    connector = RecordingConnector()
    first = probe(resolver, web.url("/to-loopback", "files.example.bz"), connector=connector)
    assert first.outcome is ProbeOutcome.BLOCKED
    assert first.error == "not probed: a redirect leads to a loopback address (127.0.0.2)"
    second = probe(resolver, web.url("/to-metadata", "files.example.bz"), connector=connector)
    assert second.outcome is ProbeOutcome.BLOCKED
    assert target.connections == 0
    assert {address for address, _ in connector.attempts} == {"127.0.0.1"}


def test_dns_rebinding_cannot_swap_in_a_forbidden_address(
    web: WebServer, target: WebServer, resolver: DnsServer, zone: Zone
) -> None:
    """A name answering with a forbidden and an allowed address: only the allowed one is used,
    and it is the very address connected to."""
    zone.a["rebind.example.bz"] = ["127.0.0.2", "127.0.0.1"]
    connector = RecordingConnector()
    result = probe(resolver, web.url("/item", "rebind.example.bz"), connector=connector)
    assert result.outcome is ProbeOutcome.PRESENT and result.address == "127.0.0.1"
    assert connector.attempts == [("127.0.0.1", web.port)]
    assert target.connections == 0
