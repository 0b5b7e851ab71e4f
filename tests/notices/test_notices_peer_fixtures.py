"""Real registry data from other projects' captures, pushed through routing, rendering and X-ARF.

The captures live next to the repository (``../shared/fixtures/peer``); the tests are skipped
when that folder is absent.
"""

from __future__ import annotations

import csv
import email
import email.policy
import re
from datetime import UTC, datetime

import pytest

from notices.directory import Directory
from notices.facts import AbuseContact, Network
from notices.kinds import Circumstance, NoticeKind
from notices.mail.addresses import validate_address
from notices.mail.message import NoticeComposer
from notices.routing import plan_notices
from notices.xarf import validate_report
from tests.notices.samples import REPO_ROOT, make_case

PEER = REPO_ROOT.parent / "shared" / "fixtures" / "peer"
pytestmark = pytest.mark.skipif(not PEER.is_dir(), reason="peer fixtures folder not present")
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ADDRESS = re.compile(r"[A-Za-z0-9._%+=-]+@[A-Za-z0-9.-]+[A-Za-z]")


def expectation_rows() -> list[dict[str, str]]:
    if not PEER.is_dir():
        return []
    with (PEER / "expectations.tsv").open(encoding="utf-8", newline="") as handle:
        return [row for row in csv.DictReader(handle, delimiter="\t") if row["abuse_email"]]


def test_published_abuse_addresses_route_and_compose(directory: Directory) -> None:
    rows = expectation_rows()
    assert len(rows) > 20
    composer = NoticeComposer(directory)
    checked = 0
    for number, row in enumerate(rows, start=1):
        # The column holds one address, a comma list, or "rdap-abuse:... | whois-abuse:..." notes.
        addresses = list(dict.fromkeys(ADDRESS.findall(row["abuse_email"])))
        if not addresses:
            continue
        for address in addresses:
            assert validate_address(address).lower() == address.lower()
        name = row["registrar_or_netname"] or None
        case = make_case(
            number,
            country="DE",
            host_contacts=tuple(AbuseContact(address=a, name=name) for a in addresses),
            network=Network(name=name, asn=64500),
        )
        plan = plan_notices(case, directory, Circumstance.FIRST_ROUND)
        assert [n.kind for n in plan.notices] == [NoticeKind.HOST_TAKEDOWN], row["input"]
        rendered = composer.compose(plan.notices[0], number, NOW)
        parsed = email.message_from_bytes(rendered.raw, policy=email.policy.default)
        assert parsed["To"] == rendered.recipient
        assert parsed["To"].lower() == addresses[0].lower()
        assert all(validate_report(x.data) == [] for x in rendered.xarf), row["input"]
        checked += 1
    assert checked > 20


def test_whole_raw_whois_answers_as_names_stay_harmless(directory: Directory) -> None:
    samples = sorted((PEER / "python-whois" / "test" / "samples" / "whois").iterdir())[:25]
    composer = NoticeComposer(directory)
    for number, sample in enumerate(samples, start=1):
        blob = sample.read_bytes()  # multi-kilobyte text, CR/LF, odd encodings
        case = make_case(
            number, country="DE", host_name=blob, network=Network.model_validate({"name": blob})
        )
        notice = plan_notices(case, directory, Circumstance.FIRST_ROUND).notices[0]
        rendered = composer.compose(notice, number, NOW)
        head = rendered.raw.split(b"\r\n\r\n", 1)[0]
        assert len(head.split(b"\r\n")) == 11, sample.name  # 10 headers, one folded Subject
        assert len(rendered.text.splitlines()[0]) < 230
        assert all(validate_report(x.data) == [] for x in rendered.xarf), sample.name
