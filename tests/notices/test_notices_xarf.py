"""X-ARF v4 content/csam reports: required fields, what is left out, validation by ``xarf``."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from notices.directory import Directory
from notices.facts import CaseUrl, Network, notice_items
from notices.kinds import NoticeKind
from notices.xarf import (
    report_for,
    stable_report_id,
    url_host,
    validate_report,
    xarf_attachments,
)
from tests.notices.samples import make_case, sample_notice


def test_report_carries_what_a_host_needs_and_never_the_material(directory: Directory) -> None:
    item = notice_items(make_case(123, country="US"))[0]
    report = report_for(item, directory.hotline, "42")
    assert report["category"] == "content" and report["type"] == "csam"
    assert report["url"] == item.url
    assert report["classification"] == "baseline"
    assert report["detection_method"] == "manual_review"
    assert report["hash_values"] == {"sha256": "ab" * 32}
    assert report["source_identifier"] == "files.host.example"
    assert report["domain"] == "files.host.example"
    assert report["asn"] == 64500 and report["country_code"] == "US"
    assert report["reporter"]["domain"] == "hotline.example"
    assert report["timestamp"] == "2026-03-02T14:05:00Z"
    assert report["tags"] == ["case:td-000123", "portal:bz"]
    assert "bz-123-1" in report["description"]
    assert set(report) <= {
        "xarf_version", "report_id", "timestamp", "reporter", "sender", "source_identifier",
        "category", "type", "url", "classification", "detection_method", "verification_method",
        "verified_at", "evidence_source", "description", "domain", "hash_values", "asn",
        "country_code", "hosting_provider", "tags",
    }  # fmt: skip
    assert validate_report(json.dumps(report)) == []


@pytest.mark.parametrize(
    "url",
    [
        "http://192.0.2.7/x.jpg",
        "http://[2001:db8::1]:8080/x",
        "https://xn--bcher-kva.example/%E2%9C%93?a=b&c=d",
        "http://host.example/" + "a" * 1900,
    ],
)
def test_unusual_urls_still_validate(url: str, directory: Directory) -> None:
    case = make_case(9, classification="A1", network=Network(name='"quoted" {{x}}\r\nname'))
    case = case.model_copy(
        update={
            "urls": (
                CaseUrl(url=url, display="hxxp://shown", confirmed_at=case.urls[0].confirmed_at),
            )
        }
    )
    report = report_for(notice_items(case)[0], directory.hotline, "n-1")
    assert "hash_values" not in report
    assert report["classification"] == "A1"
    assert validate_report(json.dumps(report)) == []


def test_one_attachment_per_url_with_stable_ids(directory: Directory) -> None:
    notice = sample_notice(NoticeKind.HOST_TAKEDOWN, "en")
    first = xarf_attachments(notice, directory.hotline, "5", validate=True)
    again = xarf_attachments(notice, directory.hotline, "5")
    assert [a.filename for a in first] == ["xarf-TD-000123-1.json", "xarf-TD-000123-2.json"]
    assert first == again
    assert first[0].report_id == stable_report_id("5", notice.items[0])
    assert first[0].report_id[14] == "4"  # UUID version 4 layout


def test_validation_catches_broken_reports(directory: Directory) -> None:
    report = report_for(notice_items(make_case())[0], directory.hotline, "1")
    broken = dict(report, classification="Z9", report_id="nope")
    del broken["url"]
    found = " ".join(validate_report(json.dumps(broken)))
    assert "classification" in found and "report_id" in found and "'url'" in found
    unknown = " ".join(validate_report(json.dumps(dict(report, surprise=1))))
    assert "Unknown field 'surprise'" in unknown
    assert validate_report("{not json") != []


@pytest.mark.parametrize(
    "url",
    [
        "http://a.example/x",
        "https://A.Example:8443/x?y",
        "http://[2001:db8::1]:8080/x",
        "http://[2001:db8::1]/",
        "http://192.0.2.7",
        "http://h.example?x=a:b",
        "http://h.example#frag:1",
    ],
)
def test_url_host_agrees_with_urlsplit(url: str) -> None:
    assert url_host(url) == urlsplit(url).hostname
