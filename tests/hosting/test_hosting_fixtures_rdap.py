"""Every real RDAP capture parses, and gives the registrar, network and abuse desk the index
expects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hosting.common.errors import MalformedAnswer
from hosting.common.registrations import NetworkRecord, RegistrarRecord
from hosting.rdap.parse import parse_autnum, parse_domain, parse_entity, parse_network
from tests.hosting.fixtures import PEER, expectations, load_json, needs_peer

pytestmark = needs_peer

RDAP = PEER / "rdap"


def _json_files() -> list[Path]:
    if not RDAP.is_dir():
        return []
    found = [p for p in RDAP.rglob("*") if p.is_file() and p.suffix in (".json", "")]
    return sorted(p for p in found if not p.name.startswith("LICENSE") and "expected" not in p.name)


def parse_any(data: Any, server: str = "rdap.example") -> NetworkRecord | RegistrarRecord:
    kind = data.get("objectClassName") if isinstance(data, dict) else None
    if kind in ("domain", "nameserver"):
        # Both name their registrar the same way (a ``registrar`` entity).
        return parse_domain(data, server, str(data.get("ldhName", "")).lower())
    if kind == "ip network":
        return parse_network(data, server)
    if kind == "autnum":
        return parse_autnum(data, server)
    return parse_entity(data, server)


@pytest.mark.parametrize("path", _json_files(), ids=lambda p: str(p.relative_to(RDAP)))
def test_every_rdap_capture_parses(path: Path) -> None:
    with path.open("rb") as handle:
        data = json.loads(handle.read().decode("utf-8"))
    try:
        record = parse_any(data)
    except MalformedAnswer:
        # Only RDAP error objects and search results may be refused, and refused cleanly.
        assert "errorCode" in data or "domainSearchResults" in data or not isinstance(data, dict)
        return
    for contact in record.abuse_contacts:
        assert contact.email == contact.email.strip() and "\n" not in contact.email


ROWS = expectations("rdap-")


def _name_from_index(cell: str) -> str:
    return cell.split(" (publicIds")[0].strip()


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['kind']}:{r['input']}" for r in ROWS])
def test_rdap_capture_matches_the_index(row: dict[str, str]) -> None:
    data = load_json(row["source"])
    record = parse_any(data)
    expected_name = _name_from_index(row["registrar_or_netname"])
    if expected_name:
        assert record.name == expected_name
    if "(publicIds" in row["registrar_or_netname"] and isinstance(record, RegistrarRecord):
        ids = [i for i in row["registrar_or_netname"].split("(publicIds")[1].strip(" )").split(",")]
        if ids != [""]:
            assert record.iana_id in ids
    found = [c.email.lower() for c in record.abuse_contacts]
    expected = [e.lower() for e in row["abuse_email"].split(",") if e]
    if expected:
        assert set(expected) <= set(found)
        assert found[0] in expected
    if row["country"] and isinstance(record, NetworkRecord):
        assert record.country == row["country"]


def test_registrar_abuse_desk_nested_in_registrar_entity_ranks_first() -> None:
    data = load_json("rdap/icann-rdap/icann-rdap-client/src/test_files/home.moscow.json")
    record = parse_domain(data, "flexireg.net", "home.moscow")
    assert record.iana_id == "1606"
    assert record.abuse_contacts[0].email == "abuse@reg.ru"
    assert record.abuse_contacts[0].how == "abuse entity under the registrar"
    # The registrar's general address is kept, ranked below its abuse desk.
    assert [c.email for c in record.abuse_contacts[1:]] == ["info@reg.ru"]


IP_RDAP = load_json("ipwhois/ipwhois/tests/rdap.json") if PEER.is_dir() else {}
IP_ROWS = {r["input"]: r for r in expectations("ip")}


@pytest.mark.parametrize("address", sorted(IP_RDAP))
def test_ip_rdap_capture_gives_the_indexed_network(address: str) -> None:
    record = parse_network(IP_RDAP[address]["response"], "rdap.example")
    row = IP_ROWS[address]
    assert record.name == row["registrar_or_netname"]
    assert record.country in (row["country"], None)
    expected: list[str] = []
    for part in row["abuse_email"].split("|"):
        label, _, value = part.strip().partition(":")
        if label == "rdap-abuse":
            expected = [v.lower() for v in value.split(",") if v]
    found = [c.email.lower() for c in record.abuse_contacts]
    if expected:
        assert set(expected) <= set(found)
    else:
        # AFRINIC and JPNIC networks name no abuse role; nothing is invented at parse time.
        assert [c for c in record.abuse_contacts if c.confidence >= 0.5] == []


def test_entity_fixture_with_abuse_role_is_read() -> None:
    record = parse_entity(load_json("ipwhois/ipwhois/tests/entity.json"), "rdap.example")
    assert record.handle
