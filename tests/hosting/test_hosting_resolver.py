"""A whole trace against DNS, RDAP and WHOIS servers on loopback: batches, coalescing, caches."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from hosting.common.cache import MemoryCache
from hosting.common.limits import Limits, RetryPolicy, SourceTimeouts
from hosting.trace.tracer import open_resolver, resolve_urls
from tests.hosting.loopback import (
    HttpReply,
    Zone,
    dns_server,
    http_server,
    whois_answers,
    whois_server,
)
from tests.hosting.rdap_world import write_bootstrap

pytestmark = pytest.mark.network

FAST = Limits(
    timeouts=SourceTimeouts(dns=0.6, rdap=0.6, whois=0.6),
    retry=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02, max_retry_after=0.05),
)


def _vcard_email(address: str) -> list[object]:
    return ["vcard", [["version", {}, "text", "4.0"], ["email", {}, "text", address]]]


def rdap(path: str) -> HttpReply:
    if path == "/domain/example.bz":
        body = {
            "objectClassName": "domain",
            "entities": [
                {
                    "roles": ["registrar"],
                    "vcardArray": ["vcard", [["fn", {}, "text", "Belize Names Ltd"]]],
                    "publicIds": [{"type": "IANA Registrar ID", "identifier": "777"}],
                    "entities": [
                        {"roles": ["abuse"], "vcardArray": _vcard_email("abuse@names.bz")}
                    ],
                }
            ],
        }
        return HttpReply(body=json.dumps(body).encode())
    if path.startswith("/ip/192.0."):
        body = {
            "objectClassName": "ip network",
            "name": "HOSTCO-NET",
            "country": "BZ",
            "cidr0_cidrs": [{"v4prefix": "192.0.0.0", "length": 16}],
            "entities": [{"roles": ["abuse"], "vcardArray": _vcard_email("abuse@hostco.example")}],
        }
        return HttpReply(body=json.dumps(body).encode())
    if path.startswith("/domain/ratelimited.bz"):
        return HttpReply(429, b"", {"Retry-After": "1"})
    return HttpReply(404, b"{}")


WHOIS_DOMAIN = {
    "ratelimited.bz": b"Domain Name: RATELIMITED.BZ\r\nRegistrar: Slow Registry Registrar\r\n"
    b"Registrar Abuse Contact Email: abuse@slow.example\r\n",
}
WHOIS_IP = {
    "198.51.100.20": b"inetnum: 198.51.100.0 - 198.51.100.255\r\nnetname: OTHER-NET\r\n"
    b"country: KY\r\nabuse-c: AB1\r\n\r\nrole: Abuse desk\r\nnic-hdl: AB1\r\n"
    b"abuse-mailbox: abuse@other.example\r\n",
}


def _zone() -> Zone:
    return Zone(
        a={
            "a.example.bz": ["192.0.2.10"],
            "b.example.bz": ["192.0.2.11"],
            "c.example.bz": ["192.0.77.1"],
            "www.ratelimited.bz": ["198.51.100.20"],
            "cdn.example.bz": ["104.16.5.5"],
        },
        cname={"edge.example.bz": "cdn.example.bz"},
    )


def test_batch_trace_shares_work_and_falls_back_to_whois(tmp_path: Path) -> None:
    async def run() -> None:
        zone = _zone()
        async with (
            dns_server(zone) as dns_port,
            http_server(rdap) as rdap_srv,
            whois_server(whois_answers(WHOIS_DOMAIN)) as bz,
            whois_server(whois_answers(WHOIS_IP)) as rir,
        ):
            bootstrap = write_bootstrap(tmp_path / "bs", rdap_srv.base)
            cache = MemoryCache()
            urls = [
                "http://a.example.bz/1",
                "http://a.example.bz/2",
                "http://b.example.bz/",
                "http://www.ratelimited.bz/x",
                "http://edge.example.bz/",
                "http://missing.example.bz/",
                "not a url",
            ]
            async with open_resolver(
                dns_nameservers=f"127.0.0.1:{dns_port}",
                whois_servers=f"bz=127.0.0.1:{bz.port},ip=127.0.0.1:{rir.port}",
                rdap_bootstrap_dir=str(bootstrap),
                cache=cache,
                limits=FAST,
            ) as resolver:
                results = await resolve_urls(urls, resolver)
                first_pass = list(rdap_srv.paths)
                again = await resolve_urls([*urls[:3], "http://c.example.bz/"], resolver)
            async with open_resolver(
                dns_nameservers=f"127.0.0.1:{dns_port}",
                rdap_bootstrap_dir=str(bootstrap),
                cache=cache,
                limits=FAST,
            ) as fresh_resolver:
                from_cache = await resolve_urls(["http://b.example.bz/"], fresh_resolver)
        by_url = {r.url: r.to_json() for r in results}
        a = by_url["http://a.example.bz/1"]
        assert a["ips"] == ["192.0.2.10"]
        assert a["registrar"]["name"] == "Belize Names Ltd"
        assert a["registrar"]["abuse_contacts"][0]["email"] == "abuse@names.bz"
        assert a["network"]["abuse_contacts"][0]["email"] == "abuse@hostco.example"
        assert a["hosting_country"] == "BZ"
        assert {e["kind"] for e in a["evidence"]} == {"dns", "rdap"}
        # One RDAP query per registrable domain, one per network, however many URLs share them.
        assert first_pass.count("/domain/example.bz") == 1
        assert [p for p in first_pass if p.startswith("/ip/192.0.")] == ["/ip/192.0.2.10"]
        # RDAP refused (429, Retry-After beyond policy) and 404: WHOIS stepped in for both.
        slow = by_url["http://www.ratelimited.bz/x"]
        assert {"source": "rdap", "error": "RATE_LIMITED"} in [
            {k: e[k] for k in ("source", "error")} for e in slow["errors"]
        ]
        assert slow["registrar"]["name"] == "Slow Registry Registrar"
        assert slow["registrar"]["source"] == "whois"
        assert slow["network"]["abuse_contacts"][0]["email"] == "abuse@other.example"
        assert slow["hosting_country"] == "KY"
        # Behind a CDN: the CDN takes the host role; the real host is unknown.
        edge = by_url["http://edge.example.bz/"]
        assert edge["cname_chain"] == ["cdn.example.bz"]
        assert edge["cdn"]["name"] == "Cloudflare" and edge["hosting_country"] is None
        missing = by_url["http://missing.example.bz/"]
        assert {"source": "dns", "error": "NXDOMAIN"} in missing["errors"]
        assert results[-1].errors[0].error == "INVALID_URL"
        # A second pass is answered from the caches, and an address elsewhere in the known
        # 192.0.0.0/16 network from the prefix index: no new RDAP query at all.
        assert len(rdap_srv.paths) == len(first_pass)
        assert [r.to_json()["network"]["name"] for r in again] == ["HOSTCO-NET"] * 4
        assert from_cache[0].to_json()["registrar"]["name"] == "Belize Names Ltd"
        assert from_cache[0].evidence

    asyncio.run(run())
