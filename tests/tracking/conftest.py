"""Fixtures of the probe and recheck tests: loopback content hosts and a loopback resolver."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from hosting.probe.fetch import Connector
from hosting.probe.policy import ParkingCatalogue
from hosting.probe.prober import ProbeLimits, Prober, ProbeResult, build_prober
from tests.tracking.loopback import DnsServer, Route, WebServer, Zone

ITEM = b"TEST ITEM - synthetic bytes standing in for a confirmed item\n" * 40
ITEM_SHA256 = hashlib.sha256(ITEM).hexdigest()
USER_AGENT = "TakedownProbe/test (hotline removal verification)"
FAST = ProbeLimits(timeout=3.0)


@pytest.fixture
def web() -> Iterator[WebServer]:
    """A content host on 127.0.0.1 serving ``ITEM`` at ``/item``."""
    with WebServer("127.0.0.1") as server:
        server.routes["/item"] = Route(200, ITEM)
        yield server


@pytest.fixture
def zone() -> Zone:
    return Zone()


@pytest.fixture
def resolver(zone: Zone) -> Iterator[DnsServer]:
    """A DNS resolver on 127.0.0.1 answering from ``zone`` (NXDOMAIN for anything else)."""
    with DnsServer(zone) as server:
        yield server


def probe(
    dns: DnsServer,
    url: str,
    expected: str | None = ITEM_SHA256,
    *,
    allowed: Sequence[str] = ("127.0.0.1/32",),
    limits: ProbeLimits = FAST,
    connector: Connector | None = None,
    parking: ParkingCatalogue | None = None,
) -> ProbeResult:
    """Probe one URL through the loopback resolver, on a fresh event loop."""

    async def run() -> ProbeResult:
        async with make_prober(dns, allowed, limits, connector, parking) as prober:
            return await prober.probe(url, expected)

    return asyncio.run(run())


def make_prober(
    dns: DnsServer,
    allowed: Sequence[str] = ("127.0.0.1/32",),
    limits: ProbeLimits = FAST,
    connector: Connector | None = None,
    parking: ParkingCatalogue | None = None,
    **extra: Any,
) -> Prober:
    return build_prober(
        dns_nameservers=dns.nameservers,
        allowed_networks=allowed,
        user_agent=USER_AGENT,
        limits=limits,
        connector=connector,
        parking=parking,
        **extra,
    )
