"""Addresses that may enter a header, and how registry text is tamed on the way in."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from notices.facts import AbuseContact, CaseUrl, Network, clean_text
from notices.mail.addresses import InvalidAddress, parse_mailbox, validate_address, validate_domain


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("abuse@example.com", "abuse@example.com"),
        ("  Abuse+bz@Mail.Example.COM ", "Abuse+bz@mail.example.com"),
        ("noc.team_1=x@xn--bcher-kva.example", "noc.team_1=x@xn--bcher-kva.example"),
    ],
)
def test_plain_addresses_pass(text: str, expected: str) -> None:
    assert validate_address(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "abuse@example.com\r\nBcc: x@y.example",
        "abuse@example.com\n",
        "Abuse Desk <abuse@example.com>",
        '"quoted local"@example.com',
        "abuse@localhost",
        "abuse@-bad-.example",
        "abuse@bücher.example",
        "abuse@example.123",
        "a..b@example.com",
        "@example.com",
        "abuse@",
        "x" * 65 + "@example.com",
        "abuse@" + "a" * 250 + ".com",
        "abuse(comment)@example.com",
    ],
)
def test_everything_else_is_refused(text: str) -> None:
    with pytest.raises(InvalidAddress):
        validate_address(text)


def test_mailbox_parts_and_domains() -> None:
    box = parse_mailbox("abuse@Example.org")
    assert (box.local_part, box.domain, box.address) == (
        "abuse",
        "example.org",
        "abuse@example.org",
    )
    assert validate_domain("HostingBZ.example") == "hostingbz.example"


def test_clean_text_caps_and_flattens_hostile_registry_text() -> None:
    assert clean_text("Evil\r\nBcc: x\x00\u202eRLO\u200b") == "Evil Bcc: x RLO"
    huge = clean_text("N" * 10_000)
    assert len(huge) == 200 and huge.endswith("…")
    assert clean_text(b"caf\xe9 broken") == "caf\ufffd broken"
    assert clean_text("{{ 7*7 }}") == "{{ 7*7 }}"  # text stays text; templates never evaluate it


def test_facts_refuse_urls_that_could_break_a_line_and_cap_names() -> None:
    with pytest.raises(ValidationError):
        CaseUrl(url="http://a.example/\r\nx", display="x", confirmed_at="2026-01-01T00:00:00Z")
    with pytest.raises(ValidationError):
        CaseUrl(url="http://a.example/", display="x", confirmed_at="2026-01-01T00:00:00")
    assert len(Network(name="x" * 5000).name or "") == 200
    raw = AbuseContact(address="a" * 5000)
    assert len(raw.address) == 1000
