"""The protocols with Python clients: dnspython, httpx for RDAP, python-whois's parser."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.resolver
import httpx
import pytest
import whois.parser  # python-whois

from sandbox.testing import SandboxHandle

pytestmark = pytest.mark.network
TIMEOUT = 5.0


def _resolver(served: SandboxHandle) -> dns.resolver.Resolver:
    host, port = served.env["TAKEDOWN_DNS_NAMESERVERS"].split(":")
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [host]
    resolver.port = int(port)
    resolver.lifetime = TIMEOUT
    return resolver


def test_dnspython_resolves_and_gets_nxdomain(served: SandboxHandle) -> None:
    resolver = _resolver(served)
    answer = resolver.resolve("cdn.belize-share.bz", "A")
    assert [r.address for r in answer] == ["127.17.0.10"]
    assert answer.chaining_result.cnames[0].name.to_text() == "cdn.belize-share.bz."
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver.resolve("absent.example-host.bz", "A")
    with pytest.raises(dns.resolver.NoAnswer):
        resolver.resolve("files.example-host.bz", "AAAA")


def test_rdap_bootstrap_points_at_the_sandbox_and_leaves_out_ky(served: SandboxHandle) -> None:
    folder = Path(served.env["TAKEDOWN_RDAP_BOOTSTRAP_DIR"])
    files = {
        name: json.loads((folder / name).read_text())
        for name in ("dns.json", "ipv4.json", "ipv6.json", "asn.json")
    }
    tlds = {tld for entry in files["dns.json"]["services"] for tld in entry[0]}
    assert "bz" in tlds and "com" in tlds and "ky" not in tlds
    ipv4 = {prefix: entry[1][0] for entry in files["ipv4.json"]["services"] for prefix in entry[0]}
    assert ipv4["127.16.0.0/16"].endswith("/rir/rir-lac/")
    assert ipv4["127.19.0.0/16"].endswith("/rir/rir-eu/")
    base = ipv4["127.18.0.0/16"]
    with httpx.Client(timeout=TIMEOUT) as client:
        network = client.get(f"{base}ip/127.18.0.10").json()
    assert network["objectClassName"] == "ip network"
    assert network["startAddress"] == "127.18.0.0"


def test_rdap_nests_abuse_like_each_registry_does(served: SandboxHandle) -> None:
    base = f"http://127.0.0.1:{served.ports.rdap}"
    with httpx.Client(timeout=TIMEOUT) as client:
        arin = client.get(f"{base}/rir/rir-na/ip/127.21.0.10").json()
        ripe = client.get(f"{base}/rir/rir-eu/ip/127.19.0.10").json()
        remarks = client.get(f"{base}/rir/rir-eu/ip/127.20.0.10").json()
        redirected = client.get(f"{base}/rir/rir-na/ip/127.16.0.10", follow_redirects=True)
        autnum = client.get(f"{base}/rir/rir-na/autnum/64506").json()
        no_rdap = client.get(f"{base}/registry/ky/domain/cayman-share.ky")
    assert arin["entities"][0]["roles"] == ["registrant"]
    assert arin["entities"][0]["entities"][0]["roles"] == ["abuse"]
    assert [e["roles"] for e in ripe["entities"]] == [["registrant"], ["abuse"]]
    assert "misbruik@polderhosting.example" in remarks["remarks"][0]["description"][0]
    assert all("entities" not in e for e in remarks["entities"])
    assert redirected.history[0].status_code == 301
    assert redirected.url.path.startswith("/rir/rir-lac/")
    assert redirected.json()["entities"][0]["vcardArray"][1][2][3] == "Hosting Belice Ltda."
    assert autnum["handle"] == "AS64506"
    assert no_rdap.status_code == 404


def test_rdap_thin_registry_links_to_the_registrar(served: SandboxHandle) -> None:
    base = f"http://127.0.0.1:{served.ports.rdap}"
    with httpx.Client(timeout=TIMEOUT) as client:
        thin = client.get(f"{base}/registry/com/domain/prairie-files.com").json()
        related = next(link["href"] for link in thin["links"] if link["rel"] == "related")
        full = client.get(related).json()
    assert "entities" not in thin["entities"][0]
    assert full["entities"][0]["entities"][0]["roles"] == ["abuse"]


def _whois(port: int, query: str) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as conn:
        conn.sendall(query.encode() + b"\r\n")
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def test_python_whois_parses_the_registry_and_registrar_records(served: SandboxHandle) -> None:
    text = _whois(served.ports.whois["whois.registry-bz.example"], "example-host.bz")
    parsed = whois.parser.WhoisEntry.load("example-host.bz", text)
    assert parsed.registrar == "Registros Caribe S.A."
    assert parsed.whois_server == "whois.registros-caribe.example"
    text = _whois(served.ports.whois["whois.registrar-one.example"], "prairie-files.com")
    parsed = whois.parser.WhoisEntry.load("prairie-files.com", text)
    assert parsed.registrar == "Registrar One LLC"
    assert parsed.emails == "abuse@registrar-one.example"
    assert parsed.expiration_date is not None


def test_arin_style_refers_lacnic_space_with_a_referral_server(served: SandboxHandle) -> None:
    text = _whois(served.ports.whois["whois.rir-na.example"], "n + 127.16.0.10")
    assert "ReferralServer:  whois://whois.rir-lac.example" in text
    referred = _whois(served.ports.whois["whois.rir-lac.example"], "127.16.0.10")
    assert "abuse-c:" in referred and "e-mail:      abuse@hostingbz.example" in referred
    own = _whois(served.ports.whois["whois.rir-na.example"], "127.18.0.10")
    assert "OrgAbuseEmail:  abuse@caymancloud.example" in own
    assert "\r\n" in own, "port-43 answers end lines with CRLF"


def test_settings_name_every_whois_server_a_referral_can_name(served: SandboxHandle) -> None:
    entries = dict(e.split("=", 1) for e in served.env["TAKEDOWN_WHOIS_SERVERS"].split(","))
    for rir in served.world.rirs:
        assert entries[rir.whois_server] == f"127.0.0.1:{served.ports.whois[rir.whois_server]}"
    for registrar in served.world.registrars:
        assert registrar.whois_server in entries
    assert entries["bz"] == entries["whois.registry-bz.example"]
    assert entries["ip"] == entries["whois.rir-na.example"]


def test_content_is_served_only_on_the_address_its_name_resolves_to(served: SandboxHandle) -> None:
    port = served.ports.content
    host = {"Host": f"files.example-host.bz:{port}"}
    with httpx.Client(timeout=TIMEOUT) as client:
        right = client.get(f"http://127.16.0.10:{port}/a/1001.bin", headers=host)
        wrong = client.get(f"http://127.19.0.10:{port}/a/1001.bin", headers=host)
        head = client.head(f"http://127.16.0.10:{port}/a/1002.bin", headers=host)
    assert right.status_code == 200 and right.content[:8] == b"TAKEDOWN"
    assert wrong.status_code == 404
    assert head.status_code == 200 and head.headers["content-length"] == "8192"
