"""Complete messages: structure, headers, X-ARF attachments, stability and injection resistance."""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from notices.directory import Directory
from notices.facts import Network
from notices.kinds import ROLE_CARRIES_XARF, Circumstance, NoticeKind
from notices.mail.addresses import InvalidAddress
from notices.mail.message import InvalidNoticeId, NoticeComposer, RenderedNotice
from notices.mail.mime import HeaderInjection, header_line
from notices.routing import plan_notices
from notices.xarf import validate_report
from tests.notices.samples import make_case, sample_notice

NOW = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
EXPECTED_HEADERS = [
    "From",
    "Reply-To",
    "To",
    "Date",
    "Message-ID",
    "Auto-Submitted",
    "Content-Language",
    "Subject",
    "MIME-Version",
    "Content-Type",
]


@pytest.fixture(scope="module")
def composer(directory: Directory) -> NoticeComposer:
    return NoticeComposer(directory)


def parse(rendered: RenderedNotice) -> EmailMessage:
    message = email.message_from_bytes(rendered.raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("kind", list(NoticeKind))
def test_every_kind_builds_a_valid_message(
    kind: NoticeKind, language: str, composer: NoticeComposer
) -> None:
    notice = sample_notice(kind, language)
    rendered = composer.compose(notice, 42, NOW)
    message = parse(rendered)
    assert message.defects == []
    assert list(message.keys()) == EXPECTED_HEADERS
    assert message["From"] == "Example Hotline <notices@hotline.example>"
    assert message["Reply-To"] == "cases@hotline.example"
    assert message["To"] == "abuse@host.example"
    assert message["Message-ID"] == "<notice-42.TD-000123@hotline.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"].datetime == NOW
    assert message["Subject"] == rendered.subject
    assert "TD-000123" in message["Subject"]
    assert message.get_content_type() == "multipart/mixed"
    alternative = next(message.iter_parts())
    assert alternative.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    # On the wire every line ends in CRLF; the content is otherwise exactly what was rendered.
    assert text.get_content().replace("\r\n", "\n") == rendered.text
    assert html.get_content().replace("\r\n", "\n") == rendered.html
    attachments = list(message.iter_attachments())
    if notice.role in ROLE_CARRIES_XARF:
        assert len(attachments) == len(notice.items)
        for part, item in zip(attachments, notice.items, strict=True):
            assert part.get_content_type() == "application/json"
            body = part.get_content()
            assert validate_report(body) == []
            report = json.loads(body)
            assert report["url"] == item.url
    else:
        assert attachments == []
    assert rendered.sha256 == hashlib.sha256(rendered.raw).hexdigest()
    assert all(len(line) <= 998 for line in rendered.raw.split(b"\r\n"))
    assert b"\n" not in rendered.raw.replace(b"\r\n", b"")


def test_same_notice_same_bytes(composer: NoticeComposer) -> None:
    notice = sample_notice(NoticeKind.HOST_TAKEDOWN, "es")
    first = composer.compose(notice, 9, NOW)
    again = composer.compose(notice, 9, NOW)
    assert first.raw == again.raw and first.sha256 == again.sha256
    other = composer.compose(notice, 10, NOW)
    assert other.message_id == "<notice-10.TD-000123@hotline.example>"
    assert other.xarf[0].report_id != first.xarf[0].report_id


def test_non_ascii_subject_is_encoded_and_folded(composer: NoticeComposer) -> None:
    rendered = composer.compose(sample_notice(NoticeKind.CDN_REQUEST, "es"), 1, NOW)
    head = rendered.raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    assert all(len(line) <= 78 for line in head.split(b"\r\n") if line.startswith((b" ", b"Subj")))
    assert parse(rendered)["Subject"] == rendered.subject
    assert "identificación" in rendered.subject


HOSTILE_NAMES = {
    "crlf": "Evil Host\r\nBcc: victim@example.org\r\nX-Injected: yes",
    "template": "{{ 7*7 }} {% raw %}",
    "huge": "N" * 10_000,
}


@pytest.mark.parametrize("label", list(HOSTILE_NAMES))
def test_hostile_whois_name_never_reaches_a_header_or_the_template(
    label: str, directory: Directory, composer: NoticeComposer
) -> None:
    hostile = HOSTILE_NAMES[label]
    case = make_case(77, country="US", host_name=hostile, network=Network(name=hostile, asn=1))
    plan = plan_notices(case, directory, Circumstance.FIRST_ROUND)
    host_notice = next(n for n in plan.notices if n.kind is NoticeKind.HOST_TAKEDOWN)
    rendered = composer.compose(host_notice, 5, NOW)
    message = parse(rendered)
    assert list(message.keys()) == EXPECTED_HEADERS
    assert message["Bcc"] is None and message["X-Injected"] is None
    head = rendered.raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert "Evil" not in head and "7*7" not in head and "NNNN" not in head
    greeting = rendered.text.splitlines()[0]
    if label == "crlf":
        assert greeting == (
            "To the abuse team of Evil Host Bcc: victim@example.org X-Injected: yes,"
        )
    elif label == "template":
        assert greeting == "To the abuse team of {{ 7*7 }} {% raw %},"
    else:
        assert len(greeting) < 250 and greeting.endswith("…,")
    # The same hostile text as the network name lands in the X-ARF report as a plain JSON value.
    for attachment in rendered.xarf:
        assert validate_report(attachment.data) == []


def test_crlf_in_a_recipient_address_is_refused(
    directory: Directory, composer: NoticeComposer
) -> None:
    case = make_case(78, host_address="abuse@host.example\r\nBcc: victim@example.org")
    plan = plan_notices(case, directory, Circumstance.FIRST_ROUND)
    assert all(n.kind is not NoticeKind.HOST_TAKEDOWN for n in plan.notices)
    assert any("host contact #1" in gap and "refused" in gap for gap in plan.gaps)
    # A planned notice tampered with on its way through the outbox is refused at composition.
    forged = sample_notice(NoticeKind.HOST_TAKEDOWN, "en").model_copy(
        update={"recipient_address": "a@b.example\r\nBcc: c@d.example"}
    )
    with pytest.raises(InvalidAddress):
        composer.compose(forged, 1, NOW)


@pytest.mark.parametrize("bad_id", ["", "1 2", "x\r\ny", "-lead", "a" * 65, "ü"])
def test_notice_ids_are_checked(bad_id: str, composer: NoticeComposer) -> None:
    with pytest.raises(InvalidNoticeId):
        composer.compose(sample_notice(NoticeKind.HOST_TAKEDOWN, "en"), bad_id, NOW)


def test_naive_date_is_refused(composer: NoticeComposer) -> None:
    with pytest.raises(ValueError, match="time zone"):
        composer.compose(sample_notice(NoticeKind.HOST_TAKEDOWN, "en"), 1, datetime(2026, 1, 1))


@pytest.mark.parametrize("value", ["a\r\nBcc: x@y.example", "a\nb", "a\x00b"])
def test_header_writer_refuses_control_characters(value: str) -> None:
    with pytest.raises(HeaderInjection):
        header_line("Subject", value)
    with pytest.raises(HeaderInjection):
        header_line("Bad Name:", "x")


def test_full_xarf_validation_can_be_switched_on(directory: Directory) -> None:
    strict = NoticeComposer(directory, validate_xarf=True)
    rendered = strict.compose(sample_notice(NoticeKind.REGISTRAR_SUSPENSION, "en"), 3, NOW)
    assert len(rendered.xarf) == 2
