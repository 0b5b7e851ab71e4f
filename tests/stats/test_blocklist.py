"""The URL blocking list and the marked domains: which cases are listed, in which form, and
who marked or unmarked a domain when."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from registry import audit
from registry.db import unit_of_work
from registry.models import AuditEntry, case_reference
from registry.reporting.blocklist import (
    BlocklistFormat,
    DomainAlreadyMarked,
    DomainNotMarked,
    InvalidDomain,
    InvalidJurisdiction,
    mark_domain,
    marked_domains,
    normalise_domain,
    render_blocklist,
    rpz_serial,
    unmark_domain,
)
from tests.stats.world import build

T1 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def listing(engine: Engine, fmt: BlocklistFormat, **kwargs: object) -> str:
    with unit_of_work(engine) as session:
        return render_blocklist(session, fmt, **kwargs)  # type: ignore[arg-type]


def test_csv_lists_open_cases_not_verified_removed_and_leaves_out_held(engine: Engine) -> None:
    ids = build(engine)
    rows = list(csv.reader(io.StringIO(listing(engine, BlocklistFormat.CSV))))
    # Listed: notified (4th case), reappeared (6th), new (7th). Not: removed, closed,
    # withdrawn, and held (8th) unless asked for.
    assert rows == [
        ["url", "first_confirmed", "category", "hosting_country", "case_reference"],
        ["http://a.example.bz/4", "2026-11-01T08:00:00+00:00", "A", "BZ", case_reference(ids[3])],
        ["http://b.example.ky/6", "2026-11-01T08:00:00+00:00", "B", "KY", case_reference(ids[5])],
        ["http://c.example.net/7", "2026-11-01T08:00:00+00:00", "A", "", case_reference(ids[6])],
    ]
    with_held = list(
        csv.reader(io.StringIO(listing(engine, BlocklistFormat.CSV, include_held=True)))
    )
    assert [row[4] for row in with_held[1:]] == [case_reference(i) for i in ids[3:8] if i != ids[4]]


def test_text_list_has_real_urls_one_per_line_for_one_jurisdiction(engine: Engine) -> None:
    build(engine)
    assert listing(engine, BlocklistFormat.TXT, jurisdiction="bz") == "http://a.example.bz/4\n"
    text = listing(engine, BlocklistFormat.TXT)
    assert text.splitlines() == [
        "http://a.example.bz/4",
        "http://b.example.ky/6",
        "http://c.example.net/7",
    ]
    assert "[.]" not in text and "hxxp" not in text and "<a" not in text


def test_a_jurisdiction_must_be_a_two_letter_code(engine: Engine) -> None:
    with pytest.raises(InvalidJurisdiction, match="two-letter"):
        listing(engine, BlocklistFormat.TXT, jurisdiction="BZE")


@pytest.mark.parametrize(
    ("raw", "normal"),
    [("Example.BZ", "example.bz"), ("shop.example.bz.", "shop.example.bz"),
     ("bücher.example", "xn--bcher-kva.example")],
)  # fmt: skip
def test_domains_are_normalised_to_lower_case_punycode(raw: str, normal: str) -> None:
    assert normalise_domain(raw) == normal


@pytest.mark.parametrize(
    ("raw", "why"),
    [("com", "not a domain name"), ("co.uk", "public suffix"), ("192.0.2.1", "IP address"),
     ("http://example.bz/", "bare domain"), ("*.example.bz", "bare domain"),
     ("example.bz\nevil CNAME .", "bare domain"), ("", "bare domain")],
)  # fmt: skip
def test_what_cannot_be_blocked_whole_is_refused(raw: str, why: str) -> None:
    with pytest.raises(InvalidDomain, match=why):
        normalise_domain(raw)


def test_mark_and_unmark_record_who_and_when_in_the_audit_chain(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        mark_domain(session, "Abusive.example", reason="dedicated site", actor="ana", now=T1)
    with unit_of_work(engine) as session, pytest.raises(DomainAlreadyMarked, match="by ana"):
        mark_domain(session, "abusive.example", reason="again", actor="bo")
    with unit_of_work(engine) as session:
        [mark] = marked_domains(session)
        assert (mark.domain, mark.marked_by, mark.marked_at, mark.reason) == (
            "abusive.example", "ana", T1, "dedicated site",
        )  # fmt: skip
        unmark_domain(session, "abusive.example", actor="bo", now=T1 + timedelta(hours=1))
    with unit_of_work(engine) as session, pytest.raises(DomainNotMarked):
        unmark_domain(session, "abusive.example", actor="bo")
    with unit_of_work(engine) as session:
        assert marked_domains(session) == []
        entries = session.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.subject, AuditEntry.at)
        ).all()
        assert [tuple(e) for e in entries] == [
            ("ana", "domain_marked", "abusive.example", T1),
            ("bo", "domain_unmarked", "abusive.example", T1 + timedelta(hours=1)),
        ]
        assert audit.verify_chain(session).ok


def test_a_mark_needs_a_reason(engine: Engine) -> None:
    with unit_of_work(engine) as session, pytest.raises(ValueError, match="reason is required"):
        mark_domain(session, "abusive.example", reason="  ", actor="ana")


def test_the_rpz_serial_grows_with_every_change_unmarks_included(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        assert rpz_serial(session) == 1
        mark_domain(session, "one.example", reason="r", actor="ana", now=T1)
        first = rpz_serial(session)
        mark_domain(session, "two.example", reason="r", actor="ana", now=T1 + timedelta(minutes=5))
        second = rpz_serial(session)
        # Removing the newest mark must not take the serial back to the first mark's.
        unmark_domain(session, "two.example", actor="bo", now=T1 + timedelta(minutes=9))
        third = rpz_serial(session)
    assert first == int(T1.timestamp())
    assert second == first + 300
    assert third == first + 540


def test_the_rpz_blocks_each_domain_and_everything_below_it(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        mark_domain(session, "abusive.example", reason="r", actor="ana", now=T1)
        mark_domain(session, "other.example.bz", reason="r", actor="ana", now=T1)
    zone = listing(engine, BlocklistFormat.RPZ, zone="rpz.hotline.example")
    assert zone.splitlines()[2:] == [
        "$ORIGIN rpz.hotline.example.",
        "$TTL 300",
        f"@ IN SOA localhost. hostmaster.localhost. {int(T1.timestamp())} 3600 600 2419200 300",
        "@ IN NS localhost.",
        "abusive.example CNAME .",
        "*.abusive.example CNAME .",
        "other.example.bz CNAME .",
        "*.other.example.bz CNAME .",
    ]
    assert zone.startswith("; ") and "SENSITIVE" in zone
