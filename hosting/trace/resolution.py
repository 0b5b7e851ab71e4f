"""The pure core of a trace: what to ask next about a host, and what the answers mean.

Modelled on dnspython's ``_Resolution``: :class:`HostResolution` performs no I/O. The driver
(:mod:`hosting.trace.resolver`) asks it for :meth:`~HostResolution.next_steps`, performs them, and
hands each outcome back with :meth:`~HostResolution.record`; tests feed it recorded answers instead.

The plan: DNS for the host and RDAP for the registrable domain at once; RDAP for the first
address once DNS has answered. WHOIS is asked as well whenever RDAP failed or left a gap (no abuse
desk, no country): hotlines trace with independent sources because any one can be wrong.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from hosting.common.contacts import email_domain, guessed_contact, rank_contacts
from hosting.common.evidence import Evidence
from hosting.common.registrations import NetworkRecord, RegistrarRecord
from hosting.dns.lookups import DnsAnswer, DnsStatus
from hosting.trace.cdn import CdnCatalogue, named_cdn
from hosting.trace.result import Failure, HostingResult, NetworkSummary, RegistrarSummary

DESK_CONFIDENCE = 0.5
"""A contact at least this trusted counts as an abuse desk; below it WHOIS is asked too."""


class StepKind(StrEnum):
    """The questions a trace asks."""

    DNS = "dns"
    RDAP_DOMAIN = "rdap-domain"
    WHOIS_DOMAIN = "whois-domain"
    RDAP_IP = "rdap-ip"
    WHOIS_IP = "whois-ip"


@dataclass(frozen=True, slots=True)
class Step:
    """One question: its kind and what it is about (a host, a domain or an address)."""

    kind: StepKind
    key: str


@dataclass(frozen=True, slots=True)
class Target:
    """A confirmed URL, already normalised: its host and registrable domain."""

    url: str
    host: str
    registrable_domain: str | None

    @property
    def is_ip_literal(self) -> bool:
        """True when the URL names an address instead of a host name."""
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return False
        return True


Outcome = DnsAnswer | NetworkRecord | RegistrarRecord | Failure


def _has_desk(record: NetworkRecord | RegistrarRecord) -> bool:
    return any(c.confidence >= DESK_CONFIDENCE for c in record.abuse_contacts)


def primary_address(addresses: Sequence[str]) -> str | None:
    """The address whose network is traced: the first IPv4 one, else the first at all."""
    for address in addresses:
        if ":" not in address:
            return address
    return addresses[0] if addresses else None


class HostResolution:
    """The state of tracing one URL, advanced by recorded outcomes."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._literal = target.is_ip_literal
        self.ips: list[str] = [target.host] if self._literal else []
        self.cname_chain: list[str] = []
        self.evidence: list[Evidence] = []
        self.errors: list[Failure] = []
        self._asked: set[Step] = set()
        self._outcomes: dict[StepKind, Outcome] = {}

    def _wanted(self) -> list[Step]:
        target, got = self.target, self._outcomes
        wanted = []
        if not self._literal:
            wanted.append(Step(StepKind.DNS, target.host))
        domain = target.registrable_domain
        if domain and not self._literal:
            wanted.append(Step(StepKind.RDAP_DOMAIN, domain))
            rdap = got.get(StepKind.RDAP_DOMAIN)
            if isinstance(rdap, Failure) or (
                isinstance(rdap, RegistrarRecord) and not _has_desk(rdap)
            ):
                wanted.append(Step(StepKind.WHOIS_DOMAIN, domain))
        address = primary_address(self.ips)
        if address:
            wanted.append(Step(StepKind.RDAP_IP, address))
            rdap_ip = got.get(StepKind.RDAP_IP)
            if isinstance(rdap_ip, Failure) or (
                isinstance(rdap_ip, NetworkRecord)
                and (not _has_desk(rdap_ip) or rdap_ip.country is None)
            ):
                wanted.append(Step(StepKind.WHOIS_IP, address))
        return wanted

    def next_steps(self) -> list[Step]:
        """Questions that can be asked now and have not been; each is handed out once."""
        fresh = [s for s in self._wanted() if s not in self._asked]
        self._asked.update(fresh)
        return fresh

    def record(self, step: Step, outcome: Outcome, evidence: Sequence[Evidence] = ()) -> None:
        """Take in the outcome of ``step`` with the evidence behind it."""
        self._outcomes[step.kind] = outcome
        self.evidence.extend(evidence)
        if isinstance(outcome, Failure):
            self.errors.append(outcome)
        elif isinstance(outcome, DnsAnswer):
            self.ips = list(dict.fromkeys(outcome.addresses))
            self.cname_chain = list(outcome.cname_chain)
            if outcome.status is not DnsStatus.OK:
                self.errors.append(Failure("dns", outcome.status.value))

    def result(
        self,
        cdn: CdnCatalogue | None = None,
        registrable_domain: Callable[[str], str | None] = lambda d: d,
    ) -> HostingResult:
        """What the recorded outcomes add up to (call once no steps are left)."""
        got = self._outcomes
        network = self._network(
            [
                o
                for k in (StepKind.RDAP_IP, StepKind.WHOIS_IP)
                if isinstance(o := got.get(k), NetworkRecord)
            ],
            registrable_domain,
        )
        registrar = self._registrar(
            [
                o
                for k in (StepKind.RDAP_DOMAIN, StepKind.WHOIS_DOMAIN)
                if isinstance(o := got.get(k), RegistrarRecord)
            ]
        )
        owners = [n for n in (network.name, network.organisation) if n] if network else []
        match = cdn.match(self.ips, self.cname_chain, owners) if cdn else None
        if match is None and cdn is not None and network is not None:
            # Organisation first: it names the company, the network name is a handle.
            named = [n for n in (network.organisation, network.name) if n]
            match = named_cdn(named, network.abuse_contacts)
        seen: set[tuple[str, str, str]] = set()
        evidence = []
        for item in self.evidence:
            if (item.sha256, item.server, item.query) not in seen:
                seen.add((item.sha256, item.server, item.query))
                evidence.append(item)
        return HostingResult(
            url=self.target.url,
            host=self.target.host,
            registrable_domain=self.target.registrable_domain,
            ips=list(self.ips),
            cname_chain=list(self.cname_chain),
            network=network,
            registrar=registrar,
            cdn=match,
            hosting_country=None if match else (network.country if network else None),
            evidence=evidence,
            errors=list(self.errors) + self._notes(got.values()),
        )

    @staticmethod
    def _notes(outcomes: Iterable[Outcome]) -> list[Failure]:
        notes = []
        for outcome in outcomes:
            if isinstance(outcome, NetworkRecord | RegistrarRecord):
                for note in outcome.notes[:20]:
                    notes.append(Failure("contacts", "NOTE", note))
        return notes

    @staticmethod
    def _network(
        records: list[NetworkRecord], registrable_domain: Callable[[str], str | None]
    ) -> NetworkSummary | None:
        if not records:
            return None
        contacts = rank_contacts(c for r in records for c in r.abuse_contacts)
        if not any(c.is_desk for c in contacts):
            # Only general contacts (if any): a marked guess at the desk ranks after them.
            for record in records:
                for address in record.other_emails:
                    domain = registrable_domain(email_domain(address))
                    guess = (
                        guessed_contact(domain, f"{record.source}:{record.server}")
                        if domain
                        else None
                    )
                    if guess:
                        contacts.append(guess)
                        break
                if any(c.is_desk for c in contacts):
                    break
        return NetworkSummary(
            asn=next((r.asn for r in records if r.asn is not None), None),
            prefix=next((r.prefix for r in records if r.prefix), None),
            name=next((r.name for r in records if r.name), None),
            organisation=next((r.organisation for r in records if r.organisation), None),
            country=next((r.country for r in records if r.country), None),
            abuse_contacts=contacts,
            source="+".join(dict.fromkeys(r.source for r in records)),
        )

    @staticmethod
    def _registrar(records: list[RegistrarRecord]) -> RegistrarSummary | None:
        if not records:
            return None
        return RegistrarSummary(
            name=next((r.name for r in records if r.name), None),
            iana_id=next((r.iana_id for r in records if r.iana_id), None),
            abuse_contacts=rank_contacts(c for r in records for c in r.abuse_contacts),
            source="+".join(dict.fromkeys(r.source for r in records)),
        )
