"""IPv6 networks: RDAP queries carry the address as is (RFC 9082), and IPv6 networks in RDAP and
WHOIS answers (RIPE ``inet6num``, ARIN ``NetRange``) are read with their prefixes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from hosting.common.cache import MemoryCache
from hosting.rdap.bootstrap import RdapBootstrap
from hosting.rdap.client import RdapClient
from hosting.trace.resolution import Target
from hosting.trace.resolver import HostingClients, HostingResolver
from hosting.whois.client import WhoisClient, WhoisOverrides
from hosting.whois.parse_ip import parse_ip_whois
from tests.hosting.fixtures import PEER, load_json, needs_peer
from tests.hosting.loopback import HttpReply, http_server
from tests.hosting.rdap_world import write_bootstrap

NETWORK = {
    "objectClassName": "ip network",
    "handle": "EXAMPLE-V6",
    "name": "EXAMPLE-V6-NET",
    "ipVersion": "v6",
    "startAddress": "2a02:1234::",
    "endAddress": "2a02:1234:ffff:ffff:ffff:ffff:ffff:ffff",
    "country": "NL",
    "entities": [
        {
            "objectClassName": "entity",
            "roles": ["abuse"],
            "vcardArray": [
                "vcard",
                [["version", {}, "text", "4.0"], ["email", {}, "text", "abuse@v6host.example"]],
            ],
        }
    ],
}


def _literal(path: str) -> HttpReply:
    """A server that reads RFC 9082 literally: the address is the path segment, undecoded."""
    if path == "/ip/2a02:1234::5":
        return HttpReply(body=json.dumps(NETWORK).encode())
    return HttpReply(400, b'{"errorCode": 400, "title": "not an IP address"}')


class _NoDns:
    async def resolve_host(self, host: str) -> object:
        raise AssertionError("an IP literal needs no DNS")


def test_rdap_asks_for_an_ipv6_address_unencoded(tmp_path: Path) -> None:
    async def run() -> tuple[list[str], object]:
        async with http_server(_literal) as server:
            bootstrap = RdapBootstrap.from_directory(write_bootstrap(tmp_path, server.base))
            async with httpx.AsyncClient(trust_env=False) as http:
                rdap = RdapClient(http, bootstrap)
                clients = HostingClients(_NoDns(), rdap, WhoisClient(WhoisOverrides()))  # type: ignore[arg-type]
                resolver = HostingResolver(clients, cache=MemoryCache())
                result = await resolver.resolve_one(
                    Target("http://[2a02:1234::5]/a.bin", "2a02:1234::5", None)
                )
            return server.paths, result

    paths, result = asyncio.run(run())
    assert paths == ["/ip/2a02:1234::5"]
    network = result.network  # type: ignore[attr-defined]
    assert network is not None
    assert network.name == "EXAMPLE-V6-NET" and network.country == "NL"
    assert network.prefix == "2a02:1234::/32"
    assert [c.email for c in network.abuse_contacts] == ["abuse@v6host.example"]


@needs_peer
@pytest.mark.parametrize(
    ("address", "prefix", "name"),
    [
        ("2001:4860:4860::8888", "2001:4860::/32", "GOOGLE-IPV6"),  # ARIN NetRange
        ("2a00:2381:ffff::1", "2a00:2381:ffff::/64", "BT-WORLD-IPVSIX-LAUNCH"),  # RIPE inet6num
        ("2801:10:c000::", "2801:10:c000::/48", "Universidad Catolica de Oriente"),  # LACNIC
        ("2001:43f8:7b0::", "2001:43f8:7b0::/48", "Tespok"),  # AFRINIC
        ("2001:240:10c:1::ca20:9d1d", "2001:240:10c::/48", "IIJ-PRJNET"),  # JPNIC via APNIC
    ],
)
def test_ipv6_networks_in_real_whois_answers(address: str, prefix: str, name: str) -> None:
    captures = load_json("ipwhois/ipwhois/tests/whois.json") if PEER.is_dir() else {}
    record = parse_ip_whois(captures[address]["response"], "whois.example")
    assert record.prefix == prefix and record.name == name
    assert record.covers(address)
