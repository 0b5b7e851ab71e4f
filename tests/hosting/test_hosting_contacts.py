"""Validation, normalisation and ranking of abuse addresses taken from hostile registry data."""

from __future__ import annotations

import pytest

from hosting.common.contacts import (
    AbuseContact,
    Confidence,
    ContactCollector,
    InvalidAddress,
    guessed_contact,
    is_registry_notice,
    normalise_email,
    rank_contacts,
)


def test_domain_is_lower_cased_and_idn_becomes_punycode() -> None:
    assert normalise_email("Abuse@Example.BZ") == "Abuse@example.bz"
    assert normalise_email("abuse@bücher.example") == "abuse@xn--bcher-kva.example"
    assert normalise_email(" <mailto:abuse@example.bz>. ") == "abuse@example.bz"


@pytest.mark.parametrize(
    "raw",
    [
        "abuse@example.bz\r\nBcc: victim@example.org",
        "abuse@example.bz\n",
        "no-at-sign.example",
        "a b@example.bz",
        '"quoted"@example.bz',
        "abuse@localhost",
        "abuse@-bad-.example",
        "x" * 65 + "@example.bz",
        "abuse@" + "a" * 250 + ".bz",
        "{{ config }}@example.bz",
        "{{config}}@example.bz",
        "`id`@example.bz",
    ],
)
def test_hostile_or_broken_addresses_are_refused(raw: str) -> None:
    with pytest.raises(InvalidAddress):
        normalise_email(raw)


def test_dropped_address_leaves_a_note_without_the_hostile_text() -> None:
    collector = ContactCollector.for_source("rdap:rdap.example")
    assert collector.offer("abuse@example.bz\r\nBcc: x@y.example", 0.9, "abuse entity") is None
    assert collector.contacts == []
    assert collector.notes and "Bcc" not in collector.notes[0]
    assert "CR/LF" in collector.notes[0]


def test_registry_notice_addresses_are_recognised() -> None:
    assert is_registry_notice("abuse@nic.mx")
    assert is_registry_notice("mail-abuse@cert.br")
    assert not is_registry_notice("abuse@registrar.mx")
    collector = ContactCollector.for_source("whois:whois.mx")
    collector.offer("abuse@nic.mx", Confidence.ABUSE_ROLE, "notice")
    assert collector.contacts == []


def test_ranking_keeps_the_most_trusted_sighting_once() -> None:
    ranked = rank_contacts(
        [
            AbuseContact("noc@example.bz", "whois:a", Confidence.REMARKS, "remarks"),
            AbuseContact("abuse@example.bz", "whois:a", Confidence.ABUSE_HANDLE, "abuse-c"),
            AbuseContact("NOC@example.bz", "rdap:b", Confidence.ABUSE_ROLE, "abuse role"),
        ]
    )
    assert [(c.email, c.source) for c in ranked] == [
        ("NOC@example.bz", "rdap:b"),
        ("abuse@example.bz", "whois:a"),
    ]


def test_guess_is_marked_lowest() -> None:
    guess = guessed_contact("provider.example", "rdap:rdap.example")
    assert guess is not None
    assert guess.email == "abuse@provider.example"
    assert guess.confidence == Confidence.GUESS
    assert guess.how.startswith("guess")
    assert guessed_contact("bad domain", "x") is None
