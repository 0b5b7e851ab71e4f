"""Registry answers written to hurt: wrong shapes, CR/LF in addresses, template syntax, blobs."""

from __future__ import annotations

import pytest

from hosting.common.errors import MalformedAnswer
from hosting.common.registrations import clean_text
from hosting.rdap.parse import parse_domain, parse_network
from hosting.whois.parse import find_referral, parse_domain_whois, refusal
from hosting.whois.parse_ip import parse_ip_whois


def test_rdap_with_wrong_shapes_everywhere_still_parses() -> None:
    hostile = {
        "objectClassName": "ip network",
        "name": ["not", "a", "string"],
        "country": "Belize\r\nX-Injected: yes",
        "cidr0_cidrs": "everything",
        "startAddress": "10.0.0.0",
        "endAddress": "fe80::1",
        "entities": [
            "junk",
            {"roles": "abuse", "vcardArray": "nope"},
            {"roles": ["abuse"], "vcardArray": ["vcard", [["email"], ["email", {}, "text", 42]]]},
            {
                "roles": ["abuse"],
                "vcardArray": [
                    "vcard",
                    [
                        ["email", {}, "text", "abuse@host.example\r\nBcc: all@victims.example"],
                        ["email", {}, "text", "{{ secrets }}@host.example"],
                        ["email", {}, "text", "real-abuse@host.example"],
                    ],
                ],
            },
        ],
    }
    record = parse_network(hostile, "rdap.example")
    assert record.name is None and record.country is None and record.cidrs == []
    assert [c.email for c in record.abuse_contacts] == ["real-abuse@host.example"]
    assert len(record.notes) == 2 and all("Bcc" not in n for n in record.notes)


def test_deeply_nested_entities_are_bounded() -> None:
    entity: dict[str, object] = {
        "roles": ["abuse"],
        "vcardArray": ["vcard", [["email", {}, "text", "deep@x.example"]]],
    }
    for _ in range(50):
        entity = {"roles": ["registrar"], "entities": [entity]}
    record = parse_domain({"objectClassName": "domain", "entities": [entity]}, "r", "x.example")
    assert record.abuse_contacts == []


@pytest.mark.parametrize("data", [[], "text", None, {"errorCode": 404, "title": "Not Found"}])
def test_rdap_that_is_not_an_object_is_refused_cleanly(data: object) -> None:
    with pytest.raises(MalformedAnswer):
        parse_domain(data, "r", "x.example")


def test_whois_names_are_one_capped_line() -> None:
    text = "Registrar: Evil\x1b[31m Registrar " + "A" * 5000 + "\r\nRegistrar IANA ID: 99\r\n"
    record = parse_domain_whois("x.example", text, "whois.example")
    assert record.name is not None and len(record.name) <= 200 and "\x1b" not in record.name
    assert record.iana_id == "99"
    assert clean_text("{{ 7*7 }}\r\nSubject: x") == "{{ 7*7 }} Subject: x"


def test_huge_whois_blob_is_cut_before_parsing() -> None:
    blob = "remarks: " + "abuse@flood.example " * 200_000 + "\nnetname: LATE\n"
    record = parse_ip_whois(blob, "whois.example", cap=10_000)
    assert record.name is None
    assert len(record.abuse_contacts) <= 1


def test_referrals_to_junk_hosts_are_ignored() -> None:
    assert find_referral("refer: whois.ok.example\n") is not None
    assert find_referral("ReferralServer: rwhois://rwhois.example:4321\n") is None
    assert find_referral("Registrar WHOIS Server: evil host;rm -rf\n") is None
    assert find_referral("whois: whois.ok.example:99999\n") is None


def test_refusal_text_is_recognised_but_long_records_quoting_it_are_not() -> None:
    assert refusal("Query rate limit exceeded\r\n") == ("rate limit: rate limit exceeded", True)
    record = "Domain Name: x.example\n" + "Registrar: R\n" * 200 + "% too many queries are abuse\n"
    assert refusal(record + "x" * 3000) is None
