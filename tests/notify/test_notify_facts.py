"""Registry rows as case facts: the resolution contract, override contacts first, hostile text
tamed, and the run summary's markdown."""

from __future__ import annotations

from datetime import UTC, datetime

from flows.run import run_markdown
from registry.models import Case, Report
from registry.notifying.facts import _Overrides, classification_for, facts_from_rows
from registry.status import CaseStatus
from tests.notify.seed import Hosting, resolution_result

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _case(**columns: object) -> Case:
    fields: dict[str, object] = {
        "id": 42,
        "url": "http://files.host.example/a.jpg",
        "url_sha256": "0" * 64,
        "display_url": "hxxp://files[.]host[.]example/a.jpg",
        "host": "files.host.example",
        "registrable_domain": "host.example",
        "status": CaseStatus.TRACED,
        "category": "A",
        "confirmed_at": T,
        "hosting_country": "US",
    }
    fields.update(columns)
    return Case(**fields)


def _report(report_id: str = "bz-1", source: str = "bz") -> Report:
    return Report(source=source, report_id=report_id, case_id=42, url="x", confirmed_at=T)


def test_the_resolution_contract_becomes_facts() -> None:
    result = resolution_result(
        "http://files.host.example/a.jpg", "files.host.example", "host.example", Hosting()
    )
    facts = facts_from_rows(_case(), [_report()], result)
    assert facts.reference == "TD-000042" and facts.hosting_country == "US"
    assert [c.address for c in facts.host_contacts] == ["abuse@host.example"]
    assert facts.network is not None and facts.network.asn == 64500
    assert facts.registrar is not None and facts.registrar.iana_id == 9999
    assert facts.cdn is None and not facts.hosting_unknown_behind_cdn
    [url] = facts.urls
    assert url.display == "hxxp://files[.]host[.]example/a.jpg" and url.report_ids == ("bz-1",)
    assert url.source == "bz" and facts.classification == "baseline"


def test_overrides_rank_first_and_duplicates_go() -> None:
    hosting = Hosting(host_emails=["abuse@host.example", "noc@host.example"])
    result = resolution_result("http://h.example/", "h.example", "h.example", hosting)
    chosen = _Overrides(host=["NOC@host.example"], registrar=["legal@registrar.example"], cdn=[])
    facts = facts_from_rows(_case(), [_report()], result, chosen)
    assert [c.address for c in facts.host_contacts] == ["NOC@host.example", "abuse@host.example"]
    assert facts.registrar is not None
    assert facts.registrar.contacts[0].address == "legal@registrar.example"


def test_behind_a_cdn_the_host_is_unknown() -> None:
    hosting = Hosting(country=None, cdn="Edge", cdn_emails=["abuse@edge.example"])
    result = resolution_result("http://h.example/", "h.example", "h.example", hosting)
    facts = facts_from_rows(_case(hosting_country=None), [_report()], result)
    assert facts.hosting_unknown_behind_cdn and facts.hosting_country is None
    assert facts.host_contacts == ()
    assert facts.cdn is not None and facts.cdn.contacts[0].address == "abuse@edge.example"


def test_hostile_names_are_one_short_line() -> None:
    hosting = Hosting(network="Evil\r\nBcc: x@y.example {{ 7*7 }}" + "A" * 10_000)
    result = resolution_result("http://h.example/", "h.example", "h.example", hosting)
    facts = facts_from_rows(_case(), [_report(source="Not A Source!")], result)
    assert facts.network is not None and facts.network.name is not None
    assert "\n" not in facts.network.name and len(facts.network.name) <= 200
    assert facts.network.name.startswith("Evil Bcc: x@y.example {{ 7*7 }}")
    assert facts.urls[0].source is None


def test_x_arf_classification_of_categories() -> None:
    assert classification_for("A1") == "A1"
    assert classification_for("baseline") == "baseline"
    assert classification_for("A") == "baseline"


def test_the_run_summary_names_every_step_and_kind() -> None:
    run = {
        "intake": {
            "received": 3,
            "cases_opened": 2,
            "reports_attached": 0,
            "duplicates": 0,
            "rejected": [{"line": 4, "report_id": "r3", "error": "url: bad"}],
        },
        "trace": {"traced": 2, "failed": 0},
        "notify": {
            "cases": 2,
            "notified": 1,
            "held": 1,
            "needs_analyst": 0,
            "notices": 3,
            "notices_held": 1,
            "by_kind": {"host_takedown": 2, "police_referral": 1},
        },
        "deliver": {"sent": 2, "retrying": 0, "failed": 0, "sent_by_kind": {"host_takedown": 1}},
    }
    markdown = run_markdown(run)
    assert "| host_takedown | 2 | 1 |" in markdown
    assert "| police_referral | 1 | 0 |" in markdown
    assert "2 cases opened" in markdown and "| 4 | r3 | url: bad |" in markdown
