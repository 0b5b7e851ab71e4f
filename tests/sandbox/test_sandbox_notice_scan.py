"""Finding the world's URLs in a notice, however it is written or attached."""

from __future__ import annotations

import json
from email.message import EmailMessage

from sandbox.notice_scan import candidate_keys, urls_in_message

KNOWN = {"files.example-host.bz/a/1001.bin", "cdn.belize-share.bz/s/2002.bin?dl=1"}


def _message(body: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = "Notice"
    message.set_content(body)
    return message


def test_plain_and_defanged_urls_are_found() -> None:
    text = (
        "Please remove http://files.example-host.bz:8080/a/1001.bin and\n"
        "hxxp://cdn.belize-share[.]bz:8080/s/2002.bin?dl=1.\n"
    )
    assert urls_in_message(_message(text), KNOWN) == [
        "files.example-host.bz/a/1001.bin",
        "cdn.belize-share.bz/s/2002.bin?dl=1",
    ]


def test_urls_unknown_to_the_world_are_ignored() -> None:
    text = "see http://files.example-host.bz/a/9999.bin and https://elsewhere.example/"
    assert urls_in_message(_message(text), KNOWN) == []


def test_html_part_with_entities_is_scanned() -> None:
    message = _message("see the HTML part")
    message.add_alternative(
        '<p><a href="#">hxxp://cdn.belize-share[.]bz:8080/s/2002.bin?dl=1&amp;x</a></p>',
        subtype="html",
    )
    keys = list(candidate_keys(message.get_body(("html",)).get_content()))  # type: ignore[union-attr]
    assert keys == ["cdn.belize-share.bz/s/2002.bin?dl=1&x"]


def test_xarf_json_attachment_is_scanned_even_with_escaped_slashes() -> None:
    message = _message("Report attached.")
    report = json.dumps({"Source": {"Url": "http://files.example-host.bz:8080/a/1001.bin"}})
    message.add_attachment(
        report.replace("/", "\\/").encode(),
        maintype="application",
        subtype="json",
        filename="xarf.json",
    )
    assert urls_in_message(message, KNOWN) == ["files.example-host.bz/a/1001.bin"]


def test_defanged_scheme_and_port_forms() -> None:
    keys = list(candidate_keys("hXXp[:]//FILES.example-host(.)bz/a/1001.bin,"))
    assert keys == ["files.example-host.bz/a/1001.bin"]
