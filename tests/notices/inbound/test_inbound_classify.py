"""Reading what abuse desks and mail systems answer: bounces of several MTAs, automatic
acknowledgements, and people's replies."""

from __future__ import annotations

from pathlib import Path

import pytest

from notices.inbound import InboundClass, MessageTooLarge, classify, read_message
from notices.inbound.autoreply import ticket_in
from notices.inbound.keys import defang_text, urls_in
from notices.inbound.message import MAX_RAW_BYTES
from notices.inbound.replies import claims_removed, strip_quoted

MAIL = Path(__file__).parent / "mail"


def read(name: str):  # type: ignore[no-untyped-def]
    return classify(read_message((MAIL / name).read_bytes()))


@pytest.mark.parametrize(
    ("name", "address", "notice"),
    [
        (
            "postfix_permanent.eml",
            "abuse@dead-host.example",
            "<notice-17.TD-000042@hotline.example>",
        ),
        ("exim_permanent.eml", "abuse@gone-isp.example", "<notice-30.TD-000044@hotline.example>"),
        (
            "exchange_permanent.eml",
            "abuse@contoso-hosting.example",
            "<notice-33.TD-000045@hotline.example>",
        ),
        (
            "gmail_permanent.eml",
            "abuse@closed-shop.example",
            "<notice-40.TD-000046@hotline.example>",
        ),
    ],
)
def test_permanent_bounces_of_each_mta_name_the_dead_address_and_the_returned_notice(
    name: str, address: str, notice: str
) -> None:
    found = read(name)
    assert found.kind is InboundClass.BOUNCE_PERMANENT
    assert found.failed_addresses == (address,)
    assert notice in found.keys.message_ids


@pytest.mark.parametrize(
    ("name", "address"),
    [
        ("postfix_delayed.eml", "abuse@slow-host.example"),
        ("gmail_delayed.eml", "abuse@slowmx.example"),
    ],
)
def test_delay_notifications_are_temporary(name: str, address: str) -> None:
    found = read(name)
    assert found.kind is InboundClass.BOUNCE_TEMPORARY
    assert found.failed_addresses == (address,)


def test_an_acknowledgement_gives_its_ticket_from_the_subject() -> None:
    found = read("autoreply_ticket.eml")
    assert found.kind is InboundClass.AUTO_ACK
    assert found.ticket == "2026031610000123"
    assert found.keys.case_ids == (42,)
    assert found.keys.message_ids == ("<notice-17.TD-000042@hotline.example>",)


def test_a_vacation_notice_is_automatic_without_a_ticket() -> None:
    found = read("vacation.eml")
    assert found.kind is InboundClass.AUTO_ACK
    assert found.ticket is None
    assert found.keys.case_ids == (50,)


def test_a_reply_quoting_the_notice_keeps_only_its_own_words_and_claims_removal() -> None:
    found = read("reply_removed.eml")
    assert found.kind is InboundClass.REPLY
    assert found.claims_removed
    assert "We have removed the content" in found.reply_text
    assert "To the abuse team" not in found.reply_text
    assert "Case reference" not in found.reply_text
    # The defanged URL the host wrote is read back for matching.
    assert "http://files.quickhost.example/a/b.jpg" in found.keys.urls


def test_a_spanish_reply_claims_removal_and_drops_the_original() -> None:
    found = read("reply_es_removed.eml")
    assert found.claims_removed
    assert "Mensaje original" not in found.reply_text
    assert found.keys.case_ids == (51,)


def test_an_html_reply_is_reduced_to_words_without_scripts_or_links() -> None:
    found = read("reply_not_customer.eml")
    assert found.kind is InboundClass.REPLY
    assert not found.claims_removed
    assert "not our customer" in found.reply_text
    assert "alert" not in found.reply_text
    assert "downstream.example" not in found.reply_text  # an href is never followed or kept
    assert found.keys.urls == ("http://bad.example/gallery/1",)


def test_a_message_with_no_clue_has_no_keys() -> None:
    found = read("unmatched.eml")
    assert found.kind is InboundClass.REPLY
    assert found.keys.case_ids == () and found.keys.message_ids == () and found.keys.urls == ()


def test_attachments_are_described_not_opened() -> None:
    message = read_message((MAIL / "reply_removed.eml").read_bytes())
    (shot,) = message.attachments
    assert shot.filename == "screenshot.png" and shot.content_type == "image/png"
    assert len(shot.sha256) == 64 and shot.size > 0


@pytest.mark.parametrize(
    ("subject", "ticket"),
    [
        ("[Ticket#2026031610000123] Re: [TD-000042] Removal", "2026031610000123"),
        ("Re: [TD-000042] Removal request [ABUSE-4711]", "ABUSE-4711"),
        ("Case #778812 opened: Removal request", "778812"),
        ("Incident INC0012345 created", "INC0012345"),
        ("Caso n.º 55123: solicitud recibida", "55123"),
        ("Re: [TD-000042] Removal request", None),
        ("Ticket: <script>alert(1)</script>", None),
    ],
)
def test_ticket_numbers(subject: str, ticket: str | None) -> None:
    assert ticket_in(subject) == ticket


@pytest.mark.parametrize(
    ("text", "claimed"),
    [
        ("The content has been removed.", True),
        ("We took the site down; it is no longer available.", True),
        ("The content has not been removed yet.", False),
        ("We cannot remove it; it was not deleted.", False),
        ("El contenido fue eliminado.", True),
        ("Hemos retirado el material.", True),
        ("El contenido no fue eliminado todavía.", False),
        ("This is not our customer.", False),
    ],
)
def test_claims_removed_is_a_hint_in_english_and_spanish(text: str, claimed: bool) -> None:
    assert claims_removed(text) is claimed


def test_outlook_style_quotes_are_stripped() -> None:
    text = "Done.\n\nFrom: Example Hotline <cases@hotline.example>\nSent: today\n\nold text"
    assert strip_quoted(text) == "Done."


def test_urls_shown_from_replies_are_defanged() -> None:
    shown = defang_text("see https://evil.example/x.jpg and hxxp://a[.]example/")
    assert "https://" not in shown and "evil[.]example" in shown
    assert urls_in("hxxps://a[.]example/p") == ("https://a.example/p",)


def test_hostile_headers_are_single_capped_lines() -> None:
    raw = (
        b"From: x@y.example\r\nSubject: =?utf-8?q?a=0D=0ABcc:_evil@x.example?=\r\n"
        b"Message-ID: <ok@y.example>\r\n\r\nbody\r\n"
    )
    message = read_message(raw)
    assert "\n" not in message.subject and "\r" not in message.subject
    assert message.message_id == "<ok@y.example>"


def test_oversized_messages_are_refused() -> None:
    with pytest.raises(MessageTooLarge):
        read_message(b"x" * (MAX_RAW_BYTES + 1))
