"""The sandbox's WHOIS layouts use the labels real registries use, per the peer captures."""

from __future__ import annotations

import ipaddress
import json

import pytest

from sandbox.answers.whois_domain import registry_answer
from sandbox.answers.whois_ip import net_answer
from sandbox.world.index import WorldIndex
from sandbox.world.model import World
from tests.sandbox.conftest import fixtures_folder


@pytest.fixture(scope="module")
def index(example_world: World) -> WorldIndex:
    return WorldIndex(example_world)


def _ip_text(index: WorldIndex, address: str) -> str:
    allocation = index.ranges.find(ipaddress.ip_address(address))
    assert allocation is not None
    rir = index.rirs[allocation.holder.rir]
    return net_answer(rir, allocation, rir, address)


def _domain_text(index: WorldIndex, name: str) -> str:
    domain = index.domains[name]
    registry = index.registries[domain.tld]
    registrar = index.registrars[domain.registrar]
    return registry_answer(registry, domain, registrar, query=name, suspended=False, now=0.0)


@pytest.mark.parametrize(
    ("rir_key", "address", "labels"),
    [
        ("arin", "127.18.0.10", ("NetRange:", "OrgAbuseEmail:", "OrgName:")),
        ("ripencc", "127.19.0.10", ("inetnum:", "abuse-mailbox:", "% Abuse contact for")),
        ("lacnic", "127.16.0.10", ("inetnum:", "owner:", "abuse-c:", "e-mail:")),
    ],
)
def test_rir_labels_match_real_captures(
    index: WorldIndex, rir_key: str, address: str, labels: tuple[str, ...]
) -> None:
    folder = fixtures_folder("ipwhois", "ipwhois", "tests")
    captures = json.loads((folder / "whois.json").read_text())
    real = [v["response"] for v in captures.values() if v["asn_data"]["asn_registry"] == rir_key]
    ours = _ip_text(index, address)
    for label in labels:
        assert any(label in text for text in real), f"{label} not in a real {rir_key} capture"
        assert label in ours


@pytest.mark.parametrize(
    ("sample", "domain", "labels"),
    [
        (
            "abc.xyz",
            "example-host.bz",
            ("Registrar WHOIS Server:", "Registrar Abuse Contact Email:", "Registrar IANA ID:"),
        ),
        ("app.nl", "polder-opslag.nl", ("Domain name:", "Abuse Contact:", "Domain nameservers:")),
        ("amazon.co.uk", "albion-uploads.co.uk", ("Registrar:", "[Tag = ", "Name servers:")),
    ],
)
def test_domain_labels_match_real_captures(
    index: WorldIndex, sample: str, domain: str, labels: tuple[str, ...]
) -> None:
    folder = fixtures_folder("python-whois", "test", "samples", "whois")
    real = (folder / sample).read_text(errors="replace")
    ours = _domain_text(index, domain)
    for label in labels:
        assert label in real and label in ours
