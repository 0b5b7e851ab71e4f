"""Every URL of the example world traces to the parties the world defines, through the settings
the sandbox prints: thin registry, RIR referral, remarks-only abuse desk, TLD without RDAP, CDN."""

from __future__ import annotations

import asyncio

import pytest

from hosting.common.cache import MemoryCache
from hosting.common.contacts import AbuseContact
from hosting.trace.result import HostingResult
from hosting.trace.tracer import resolve_urls
from registry.tracing.sources import TraceSources
from sandbox.testing import SandboxHandle
from tests.tracing.conftest import settings_for
from tests.tracing.world_expect import Expected, expected_for

pytestmark = pytest.mark.network


async def _trace(sources: TraceSources, urls: list[str]) -> list[HostingResult]:
    async with sources.open(MemoryCache()) as resolver:
        return await resolve_urls(urls, resolver)


@pytest.fixture(scope="module")
def traced(served: SandboxHandle) -> list[tuple[Expected, HostingResult]]:
    sources = TraceSources.from_settings(settings_for(served))
    results = asyncio.run(_trace(sources, served.urls))
    return [
        (expected_for(served.world, url), r) for url, r in zip(served.urls, results, strict=True)
    ]


def _emails(contacts: list[AbuseContact]) -> list[str]:
    return [c.email for c in contacts]


def test_every_url_reaches_the_network_registrar_cdn_and_country_of_the_world(
    traced: list[tuple[Expected, HostingResult]],
) -> None:
    assert len(traced) == 14
    for want, got in traced:
        where = got.url
        assert got.registrar is not None, where
        assert got.registrar.name == want.registrar.name, where
        assert got.registrar.iana_id == str(want.registrar.iana_id), where
        assert _emails(got.registrar.abuse_contacts)[0] == want.registrar.abuse_email, where
        assert got.hosting_country == want.hosting_country, where
        assert tuple(got.cname_chain) == want.cname_chain, where
        if want.network is None:
            assert got.network is None and got.cdn is None, where
            assert {"source": "dns", "error": "SERVFAIL"} in [e.to_json() for e in got.errors]
            continue
        assert got.network is not None, where
        assert got.network.organisation == want.network.name, where
        assert got.network.country == want.network.country, where
        assert _emails(got.network.abuse_contacts)[0] == want.network.abuse_email, where
        assert got.network.prefix == str(want.network.ranges[0]), where
        # Only the North American registry's RDAP names the origin AS, as ARIN's does.
        assert want.rir is not None
        assert got.network.asn == (want.network.asn if want.rir.style == "arin" else None), where
        if want.behind_cdn:
            assert got.cdn is not None and got.cdn.provider.name == want.network.name, where
            assert _emails(got.cdn.provider.contacts()) == [want.network.abuse_email], where
            assert got.host_contacts == got.cdn.provider.contacts()
        else:
            assert got.cdn is None, where


def test_the_world_covers_the_hard_cases(traced: list[tuple[Expected, HostingResult]]) -> None:
    wants = [want for want, _ in traced]
    assert any(w.registry.whois == "thin" for w in wants)
    assert any(not w.registry.rdap for w in wants)
    assert any(w.network and w.network.abuse_in == "remarks" for w in wants)
    assert any(w.behind_cdn for w in wants)
    assert any(w.rir and w.rir.style != "arin" for w in wants)
    assert any(not w.traced for w in wants)


def test_a_thin_registry_is_followed_to_the_registrar_whois(
    traced: list[tuple[Expected, HostingResult]],
) -> None:
    thin = [(w, r) for w, r in traced if w.registry.whois == "thin"]
    assert thin
    for want, got in thin:
        servers = [(e.kind, e.server) for e in got.evidence]
        # The registry's RDAP names the registrar without an abuse desk; WHOIS finds it.
        assert ("whois", want.registrar.whois_server) in servers, got.url
        assert got.registrar is not None and "whois" in got.registrar.source


def test_a_tld_without_rdap_falls_back_to_whois(
    traced: list[tuple[Expected, HostingResult]],
) -> None:
    no_rdap = [(w, r) for w, r in traced if not w.registry.rdap]
    assert no_rdap
    for _, got in no_rdap:
        assert got.registrar is not None and got.registrar.source == "whois"
        assert "NO_SERVICE" in [e.error for e in got.errors if e.source == "rdap"]


def test_a_remarks_only_desk_is_found_through_the_rir_referral(
    traced: list[tuple[Expected, HostingResult]],
) -> None:
    remarks = [(w, r) for w, r in traced if w.network and w.network.abuse_in == "remarks"]
    assert remarks
    for want, got in remarks:
        assert got.network is not None and want.rir is not None
        best = got.network.abuse_contacts[0]
        assert best.email == want.network.abuse_email if want.network else False
        assert "remark" in best.how
        # The first address registry refers elsewhere; the referral is followed to the RIR.
        assert ("whois", want.rir.whois_server) in [(e.kind, e.server) for e in got.evidence]


def test_every_result_keeps_its_evidence(traced: list[tuple[Expected, HostingResult]]) -> None:
    for want, got in traced:
        kinds = {e.kind for e in got.evidence}
        assert "rdap" in kinds or "whois" in kinds, got.url
        if want.traced:
            assert "dns" in kinds, got.url
        for item in got.evidence:
            assert len(item.sha256) == 64 and item.size >= len(item.raw)
