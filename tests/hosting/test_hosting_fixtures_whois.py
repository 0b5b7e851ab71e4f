"""Every real WHOIS capture parses, and gives the registrar and abuse desk the index expects."""

from __future__ import annotations

from pathlib import Path

import pytest

from hosting.common.contacts import Confidence
from hosting.whois.parse import parse_domain_whois
from hosting.whois.parse_ip import parse_ip_whois
from tests.hosting.fixtures import PEER, expectations, load_json, needs_peer, read_text

pytestmark = needs_peer

HERE = Path(__file__).resolve().parent
SAMPLES = PEER / "python-whois" / "test" / "samples" / "whois"
DOMAIN_ROWS = expectations("domain-whois")

# Where our answer differs from the index on purpose (the index is regex-derived or upstream's).
REGISTRAR_DISAGREEMENTS = {
    # The index (upstream python-whois) gives no registrar; the raw text names one plainly and our
    # fallback line rule reads it ("Registrar: Name.com, Inc." / "Registrar: GoDaddy.com, LLC").
    "davidwalsh.name": "Name.com, Inc.",
    "seal.jobs": "GoDaddy.com, LLC",
}


def _same(a: str | None, b: str) -> bool:
    return " ".join((a or "").split()).casefold() == " ".join(b.split()).casefold()


def _domain_files() -> list[str]:
    return sorted(p.name for p in SAMPLES.iterdir()) if SAMPLES.is_dir() else []


@pytest.mark.parametrize("name", _domain_files())
def test_every_domain_capture_parses(name: str) -> None:
    record = parse_domain_whois(name, read_text(SAMPLES / name), "whois.example")
    assert record.domain == name
    for contact in record.abuse_contacts:
        assert "@" in contact.email and "\n" not in contact.email


@pytest.mark.parametrize("row", DOMAIN_ROWS, ids=[r["input"] for r in DOMAIN_ROWS])
def test_domain_registrar_and_abuse_match_the_index(row: dict[str, str]) -> None:
    record = parse_domain_whois(row["input"], read_text(PEER / row["source"]), "whois.example")
    if row["registrar_or_netname"]:
        assert _same(record.name, row["registrar_or_netname"])
    elif row["input"] in REGISTRAR_DISAGREEMENTS:
        assert _same(record.name, REGISTRAR_DISAGREEMENTS[row["input"]])
    desks = [c.email.lower() for c in record.abuse_contacts if c.is_desk]
    if row["abuse_email"]:
        assert desks[0] == row["abuse_email"].lower()
    else:
        assert desks == []


def _registrar_contacts() -> dict[str, tuple[set[str], str]]:
    lines = (HERE / "data" / "registrar_contacts.tsv").read_text("utf-8").splitlines()
    rows = [line.split("\t") for line in lines if line and not line.startswith("#")]
    return {r[0]: (set(r[1].split(",")), r[2]) for r in rows[1:]}


REGISTRAR_CONTACTS = _registrar_contacts()


@pytest.mark.parametrize("name", _domain_files())
def test_a_reachable_registrar_contact_whenever_the_text_holds_one(name: str) -> None:
    record = parse_domain_whois(name, read_text(SAMPLES / name), "whois.example")
    found = list(record.abuse_contacts)
    if name not in REGISTRAR_CONTACTS:
        assert [c for c in found if not c.is_desk] == []
        return
    emails, kind = REGISTRAR_CONTACTS[name]
    assert found and found[0].email.lower() in emails
    assert found[0].kind == kind
    if kind == "registrar":
        # Kept apart from abuse desks: lower confidence, and said in words.
        assert found[0].confidence == Confidence.REGISTRAR_CONTACT
        assert "registrar contact, not an abuse desk" in found[0].how
        assert found[0].email in record.other_emails


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # .nz
        (
            "domain_name: example.co.nz\nregistrar_name: Kiwi Names\n"
            "registrar_email: support@kiwinames.example\n",
            "support@kiwinames.example",
        ),
        # .pl
        (
            "DOMAIN NAME: example.pl\nregistrar email: biuro@rejestrator.example\n",
            "biuro@rejestrator.example",
        ),
        # .ch / .li: an unlabelled address under the heading
        (
            "Domain name:\nexample.ch\n\nRegistrar:\nSwiss Names AG\nBahnhofstrasse 1\n"
            "hostmaster@swissnames.example\n\nDNSSEC:N\n",
            "hostmaster@swissnames.example",
        ),
    ],
    ids=["nz", "pl", "ch"],
)
def test_registrar_contact_layouts(text: str, expected: str) -> None:
    record = parse_domain_whois("example.test", text, "whois.example")
    [contact] = record.abuse_contacts
    assert contact.email == expected and contact.kind == "registrar"


def test_an_abuse_desk_outranks_the_registrar_contact() -> None:
    text = (
        "Domain Name: example.nz\nregistrar_email: support@names.example\n"
        "Registrar Abuse Contact Email: abuse@names.example\n"
    )
    record = parse_domain_whois("example.nz", text, "whois.example")
    assert [c.email for c in record.abuse_contacts] == [
        "abuse@names.example",
        "support@names.example",
    ]


@pytest.mark.parametrize("name", ["google.mx", "google.com.br"])
def test_registry_notices_are_not_taken_for_the_registrar_desk(name: str) -> None:
    record = parse_domain_whois(name, read_text(SAMPLES / name), "whois.example")
    raw = read_text(SAMPLES / name)
    assert "abuse@nic.mx" in raw or "mail-abuse@cert.br" in raw
    assert record.abuse_contacts == []


def test_parser_failures_fall_back_to_line_rules() -> None:
    # python-whois 0.9.6 rejects the date format of .kz; the registrar still comes out.
    record = parse_domain_whois("yandex.kz", read_text(SAMPLES / "yandex.kz"), "whois.nic.kz")
    assert record.name == "HOSTER.KZ"
    assert any("python-whois" in n for n in record.notes)


IP_WHOIS = load_json("ipwhois/ipwhois/tests/whois.json") if PEER.is_dir() else {}
IP_ROWS = {r["input"]: r for r in expectations("ip")}

# Addresses the index lists no WHOIS abuse desk for, where we find one on purpose: the index only
# looked at OrgAbuseEmail / abuse-mailbox / "% Abuse contact"; we also follow abuse-c handles
# (LACNIC) and, at low confidence, read addresses in remarks (AFRINIC).
IP_ABUSE_DISAGREEMENTS = {
    "2801:10:c000::": "sistemas.red@uco.edu.co",
    "200.57.141.161": "operacion.redes@triara.com",
    "196.11.240.215": "abuse@mtnbusiness.co.za",
}


def _index_abuse(row: dict[str, str], source: str) -> list[str]:
    for part in row["abuse_email"].split("|"):
        label, _, value = part.strip().partition(":")
        if label == f"{source}-abuse":
            return [v.lower() for v in value.split(",") if v]
    return []


@pytest.mark.parametrize("address", sorted(IP_WHOIS))
def test_ip_whois_capture_gives_the_indexed_abuse_desk(address: str) -> None:
    record = parse_ip_whois(IP_WHOIS[address]["response"], "whois.example")
    row = IP_ROWS[address]
    assert record.country == row["country"]
    found = [c.email.lower() for c in record.abuse_contacts]
    expected = _index_abuse(row, "whois")
    if expected:
        assert found[0] in expected
        assert set(expected) <= set(found)
    elif address in IP_ABUSE_DISAGREEMENTS:
        assert found[0] == IP_ABUSE_DISAGREEMENTS[address]
    else:
        # No desk: only general contacts of the organisation or maintainer, marked as such.
        assert [c for c in record.abuse_contacts if c.is_desk] == []
        assert all("not an abuse desk" in c.how for c in record.abuse_contacts)


def test_ripe_answer_ranks_the_abuse_mailbox_above_remarks() -> None:
    record = parse_ip_whois(IP_WHOIS["62.239.237.1"]["response"], "whois.ripe.net")
    assert [c.email for c in record.abuse_contacts] == ["protect@bt.com", "btcertcc@bt.com"]
    assert record.abuse_contacts[0].confidence > record.abuse_contacts[1].confidence
    assert record.name == "BT-CORPORATE"
    assert record.cidrs == ["62.239.237.0/24"]
    assert record.asn == 2856


def test_lacnic_abbreviated_prefix_is_expanded() -> None:
    record = parse_ip_whois(IP_WHOIS["200.57.141.161"]["response"], "whois.lacnic.net")
    assert record.cidrs == ["200.57.128.0/19"]
    assert record.covers("200.57.141.161")
