"""The partner directory file: the shipped example loads; every mistake is named on its own line."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from notices.directory import DirectoryError, load_directory, parse_directory
from notices.kinds import Circumstance, NoticeKind
from tests.notices.samples import EXAMPLE_DIRECTORY

MINIMAL = """
version: 1
hotline:
  code: gb-hotline
  name: "Example Hotline"
  country: GB
  from_address: notices@hotline.example
  reply_to: cases@hotline.example
"""


def problems(text: str) -> list[str]:
    with pytest.raises(DirectoryError) as caught:
        parse_directory(text, "dir.yaml")
    return caught.value.problems


def test_example_directory_loads() -> None:
    directory = load_directory(EXAMPLE_DIRECTORY)
    assert directory.hotline.mail_domain == "hotline.example"
    assert directory.partner_hotline("BZ") is not None
    assert directory.partner_hotline("GB") is None
    police = directory.police("GB")
    assert police is not None and police.clears_before_host_notice
    assert directory.escalation.reminder_interval == timedelta(hours=24)
    assert directory.escalation.escalation_delay == timedelta(hours=72)
    assert directory.escalation.analyst_delay == timedelta(days=7)
    assert directory.sending.window_minutes == (8 * 60, 18 * 60)
    assert date(2026, 12, 25) in directory.sending.holidays
    assert directory.rules[0].add == (NoticeKind.POLICE_REFERRAL,)
    assert directory.rules[0].circumstances[0] is Circumstance.FIRST_ROUND


def test_minimal_directory_has_safe_defaults() -> None:
    directory = parse_directory(MINIMAL)
    assert directory.partners == () and directory.rules == ()
    assert directory.sending.window == "00:00-24:00"
    assert directory.language_for("abuse@anywhere.example") is None


def test_each_problem_is_one_line_with_file_and_key_path() -> None:
    found = problems(
        MINIMAL
        + """
partners:
  - {code: nl-hotline, kind: hotline, name: NL, country: nl, language: dutch, colour: red,
     email: "a@b.example\\r\\nBcc: x@y.example"}
  - {code: us-police, kind: sheriff, name: US, country: US, email: l@us.example}
recipient_languages: {"not a domain": es}
sending: {timezone: Mars/Olympus, window: "9-5", quiet_days: [fri, caturday]}
escalation: {reminder_every: 1 week}
rules: [{add: [fax_machine], reason: x}]
surprise: true
"""
    )
    assert found and all("\n" not in p and p.startswith("dir.yaml: ") for p in found)
    joined = "\n".join(found)
    for expected in (
        "dir.yaml: partners[0].country: not a valid ISO 3166-1 alpha-2 code in upper case: 'nl'",
        "dir.yaml: partners[0].email: not a usable e-mail address: "
        "address contains a control character",
        "dir.yaml: partners[0].language: not a valid ISO 639-1 language code",
        "dir.yaml: partners[0].colour: unknown key",
        "dir.yaml: partners[1].kind:",
        "dir.yaml: recipient_languages.not a domain (the key itself): not an e-mail address",
        "dir.yaml: sending.timezone: unknown time zone 'Mars/Olympus'",
        "dir.yaml: sending.window: not a valid window",
        "dir.yaml: sending.quiet_days[1]:",
        "dir.yaml: escalation.reminder_every: not a duration like '24h' or '7d': '1 week'",
        "dir.yaml: rules[0].add[0]:",
        "dir.yaml: surprise: unknown key",
    ):
        assert expected in joined, expected


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("sending: {window: '18:00-08:00'}", "window must start before it ends"),
        (
            "sending: {quiet_days: [mon, tue, wed, thu, fri, sat, sun]}",
            "nothing could ever be sent",
        ),
        ("rules: [{reason: empty}]", "rules[0]: a rule must add or suppress at least one kind"),
        (
            "rules: [{add: [reminder], suppress: [reminder], reason: x}]",
            "kinds both added and suppressed: reminder",
        ),
        (
            "partners: [{code: gb-other, kind: hotline, name: X, country: GB, email: a@b.example}]",
            "partner hotline gb-other is in our own country GB",
        ),
        (
            "partners: [{code: gb-hotline, kind: police, name: X, country: GB, email: a@b.ex}]",
            "codes used more than once: gb-hotline",
        ),
        ("version: 2", "version:"),
        ("hotline: 1", "duplicate key 'hotline'"),
    ],
)
def test_inconsistent_directories_are_refused(snippet: str, expected: str) -> None:
    text = MINIMAL.replace("version: 1\n", "") if snippet.startswith("version") else MINIMAL
    assert any(expected in p for p in problems(text + snippet + "\n"))


def test_norway_is_a_country_not_false() -> None:
    text = (
        MINIMAL
        + "partners: [{code: no-hotline, kind: hotline, name: N, country: NO, email: a@no.ex}]\n"
    )
    directory = parse_directory(text)
    assert directory.partner_hotline("NO") is not None


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(DirectoryError, match="cannot read"):
        load_directory(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: [1\n")
    with pytest.raises(DirectoryError, match=r"broken.yaml: line \d+, column \d+"):
        load_directory(broken)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(DirectoryError, match="not UTF-8"):
        load_directory(latin)
    assert load_directory(EXAMPLE_DIRECTORY).hotline.code == "gb-hotline"
