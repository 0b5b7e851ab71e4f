"""The pure planner, fed recorded answers: what it asks next and what the answers add up to."""

from __future__ import annotations

import json

from hosting.common.contacts import AbuseContact, Confidence
from hosting.common.evidence import Evidence
from hosting.common.registrations import NetworkRecord, RegistrarRecord
from hosting.dns.lookups import DnsAnswer, DnsStatus
from hosting.rdap.parse import parse_domain, parse_network
from hosting.trace.cdn import CdnCatalogue
from hosting.trace.resolution import HostResolution, Step, StepKind, Target
from hosting.trace.result import Failure
from hosting.whois.parse_ip import parse_ip_whois
from tests.hosting.fixtures import PEER, load_json, needs_peer

TARGET = Target("http://www.example.bz/x", "www.example.bz", "example.bz")


def _network(country: str | None = "BZ", email: str = "abuse@host.example") -> NetworkRecord:
    return NetworkRecord(
        "rdap",
        "rdap.example",
        name="HOST-NET",
        country=country,
        cidrs=["192.0.2.0/24"],
        abuse_contacts=[AbuseContact(email, "rdap:rdap.example", Confidence.ABUSE_ROLE, "abuse")],
    )


def _registrar(with_desk: bool = True) -> RegistrarRecord:
    contacts = [AbuseContact("abuse@reg.example", "rdap:r", Confidence.ABUSE_ROLE, "abuse")]
    return RegistrarRecord("rdap", "r", "example.bz", "Reg", "42", contacts if with_desk else [])


def test_dns_and_rdap_domain_first_then_the_address() -> None:
    res = HostResolution(TARGET)
    assert res.next_steps() == [
        Step(StepKind.DNS, "www.example.bz"),
        Step(StepKind.RDAP_DOMAIN, "example.bz"),
    ]
    assert res.next_steps() == []
    res.record(
        Step(StepKind.DNS, "www.example.bz"),
        DnsAnswer("www.example.bz", DnsStatus.OK, ["2001:db8::1", "192.0.2.5"]),
    )
    assert res.next_steps() == [Step(StepKind.RDAP_IP, "192.0.2.5")]
    res.record(Step(StepKind.RDAP_DOMAIN, "example.bz"), _registrar())
    res.record(Step(StepKind.RDAP_IP, "192.0.2.5"), _network())
    assert res.next_steps() == []
    result = res.result(CdnCatalogue.load())
    assert result.hosting_country == "BZ"
    assert result.network and result.network.abuse_contacts[0].email == "abuse@host.example"
    assert result.registrar and result.registrar.name == "Reg"
    assert result.errors == []


def test_rdap_failure_or_gap_brings_in_whois() -> None:
    res = HostResolution(TARGET)
    res.next_steps()
    res.record(Step(StepKind.RDAP_DOMAIN, "example.bz"), Failure("rdap", "RATE_LIMITED"))
    res.record(
        Step(StepKind.DNS, "www.example.bz"),
        DnsAnswer("www.example.bz", DnsStatus.OK, ["192.0.2.5"]),
    )
    steps = res.next_steps()
    assert Step(StepKind.WHOIS_DOMAIN, "example.bz") in steps
    res.record(Step(StepKind.RDAP_IP, "192.0.2.5"), _network(country=None))
    assert res.next_steps() == [Step(StepKind.WHOIS_IP, "192.0.2.5")]


def test_nxdomain_ends_the_trace_with_a_named_error() -> None:
    res = HostResolution(TARGET)
    res.next_steps()
    res.record(
        Step(StepKind.DNS, "www.example.bz"), DnsAnswer("www.example.bz", DnsStatus.NXDOMAIN)
    )
    res.record(Step(StepKind.RDAP_DOMAIN, "example.bz"), _registrar())
    assert res.next_steps() == []
    payload = res.result().to_json()
    assert {"source": "dns", "error": "NXDOMAIN"} in payload["errors"]
    assert payload["network"] is None and payload["ips"] == []


def test_cdn_takes_the_host_role_and_hides_the_country() -> None:
    res = HostResolution(TARGET)
    res.next_steps()
    dns = DnsAnswer(
        "www.example.bz", DnsStatus.OK, ["104.16.1.1"], ["example.bz.cdn.cloudflare.net"]
    )
    res.record(Step(StepKind.DNS, "www.example.bz"), dns)
    res.record(Step(StepKind.RDAP_DOMAIN, "example.bz"), _registrar())
    res.record(Step(StepKind.RDAP_IP, "104.16.1.1"), _network(country="US"))
    result = res.result(CdnCatalogue.load())
    assert result.cdn is not None and result.cdn.provider.name == "Cloudflare"
    assert result.hosting_country is None
    assert [c.email for c in result.host_contacts] == ["abuse@cloudflare.com"]
    cdn = result.to_json()["cdn"]
    assert cdn["real_host_known"] is False and cdn["matched_by"] == "address in 104.16.0.0/13"


def test_cdn_by_cname_suffix_and_deployment_extension(tmp_path: object) -> None:
    from pathlib import Path

    extra = Path(str(tmp_path)) / "cdn.json"
    extra.write_text(
        '{"providers": [{"name": "LocalEdge", "abuse_contacts": ["abuse@edge.example"],'
        ' "cname_suffixes": ["edge.example"], "owner_patterns": [], "ranges": []}]}'
    )
    catalogue = CdnCatalogue.load([extra])
    assert catalogue.match([], ["x.edge.example"], []).provider.name == "LocalEdge"  # type: ignore[union-attr]
    assert catalogue.match([], ["d1.cloudfront.net"], []).provider.name == "Amazon CloudFront"  # type: ignore[union-attr]
    assert catalogue.match(["192.0.2.1"], ["origin.example"], ["HOST-NET"]) is None


def test_no_desk_anywhere_falls_back_to_a_marked_guess() -> None:
    target = Target("http://192.0.2.5/", "192.0.2.5", None)
    res = HostResolution(target)
    assert res.next_steps() == [Step(StepKind.RDAP_IP, "192.0.2.5")]
    bare = NetworkRecord(
        "rdap",
        "r",
        name="N",
        country="KE",
        cidrs=["192.0.2.0/24"],
        other_emails=["noc@isp.example"],
    )
    res.record(Step(StepKind.RDAP_IP, "192.0.2.5"), bare)
    assert res.next_steps() == [Step(StepKind.WHOIS_IP, "192.0.2.5")]
    res.record(Step(StepKind.WHOIS_IP, "192.0.2.5"), Failure("whois", "TIMEOUT"))
    result = res.result()
    assert result.network is not None
    [guess] = result.network.abuse_contacts
    assert guess.email == "abuse@isp.example" and guess.confidence == Confidence.GUESS


def test_evidence_is_kept_once_and_json_has_the_contract_keys() -> None:
    res = HostResolution(TARGET)
    res.next_steps()
    proof = Evidence.capture("rdap", "rdap.example", "domain/example.bz", b"{}")
    res.record(Step(StepKind.RDAP_DOMAIN, "example.bz"), _registrar(), [proof])
    res.record(
        Step(StepKind.DNS, "www.example.bz"),
        DnsAnswer("www.example.bz", DnsStatus.OK, ["192.0.2.5"]),
        [proof],
    )
    payload = res.result().to_json()
    assert set(payload) == {
        "url",
        "host",
        "registrable_domain",
        "ips",
        "cname_chain",
        "network",
        "registrar",
        "cdn",
        "hosting_country",
        "evidence",
        "errors",
    }
    assert payload["evidence"] == [proof.to_json()]
    assert set(payload["evidence"][0]) == {"kind", "server", "query", "at", "sha256"}
    assert set(payload["registrar"]) == {"name", "iana_id", "abuse_contacts", "source"}


@needs_peer
def test_recorded_real_answers_merge_rdap_and_whois() -> None:
    rdap = load_json("ipwhois/ipwhois/tests/rdap.json")["74.125.225.229"]["response"]
    whois = load_json("ipwhois/ipwhois/tests/whois.json")["74.125.225.229"]["response"]
    domain = load_json("rdap/whoisit/responses/rdap.verisign.com_com_v1_domain_google.com.json")
    target = Target("http://www.google.com/", "www.google.com", "google.com")
    res = HostResolution(target)
    res.next_steps()
    res.record(
        Step(StepKind.DNS, "www.google.com"),
        DnsAnswer("www.google.com", DnsStatus.OK, ["74.125.225.229"]),
    )
    res.record(
        Step(StepKind.RDAP_DOMAIN, "google.com"),
        parse_domain(domain, "rdap.verisign.com", "google.com"),
    )
    assert res.next_steps() == [Step(StepKind.RDAP_IP, "74.125.225.229")]
    # ARIN's RDAP answer has no country member; the registrant's postal address names it, so
    # no WHOIS query is needed.
    assert parse_network(rdap, "rdap.arin.net").country == "US"
    # Without that address, WHOIS is asked to fill the gap.
    bare = json.loads(json.dumps(rdap))
    for entity in bare["entities"]:
        card = entity.get("vcardArray") or ["vcard", []]
        card[1] = [p for p in card[1] if p[0] != "adr"]
    res.record(Step(StepKind.RDAP_IP, "74.125.225.229"), parse_network(bare, "rdap.arin.net"))
    assert res.next_steps() == [Step(StepKind.WHOIS_IP, "74.125.225.229")]
    res.record(Step(StepKind.WHOIS_IP, "74.125.225.229"), parse_ip_whois(whois, "whois.arin.net"))
    result = res.result(CdnCatalogue.load())
    assert result.network is not None and result.registrar is not None
    assert result.network.source == "rdap+whois"
    assert result.hosting_country == "US"
    assert result.network.abuse_contacts[0].email == "arin-contact@google.com"
    assert result.registrar.name == "MarkMonitor Inc." and result.registrar.iana_id == "292"
    assert result.registrar.abuse_contacts[0].email == "abusecomplaints@markmonitor.com"
    assert PEER.is_dir()
