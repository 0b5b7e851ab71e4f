"""Turning the clients' answers into records: one call per step kind, with caching.

Each function performs one step's I/O through an injected client and interprets the answer with
the pure parsers. Failures come back as :class:`~hosting.trace.result.Failure`, never as exceptions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from hosting.common.errors import HostingError, NotFound
from hosting.common.evidence import Evidence
from hosting.common.registrations import NetworkRecord, RegistrarRecord
from hosting.dns.lookups import DnsAnswer
from hosting.rdap.client import RdapAnswer
from hosting.rdap.parse import parse_domain, parse_network
from hosting.trace.result import Failure
from hosting.whois.client import IANA_WHOIS, WhoisAnswer, WhoisChain
from hosting.whois.parse import parse_domain_whois
from hosting.whois.parse_ip import parse_ip_whois


class DnsLookup(Protocol):
    """Resolves a host; never raises for DNS failures (they are statuses)."""

    async def resolve_host(self, host: str) -> DnsAnswer:
        """Addresses and CNAME chain of ``host``."""
        ...


class RdapLookup(Protocol):
    """RDAP lookups; raise :class:`~hosting.common.errors.HostingError` subclasses on failure."""

    async def domain(self, name: str) -> RdapAnswer:
        """The domain object of ``name``."""
        ...

    async def ip(self, address: str) -> RdapAnswer:
        """The ip network object covering ``address``."""
        ...


class WhoisLookup(Protocol):
    """WHOIS referral walks; raise :class:`~hosting.common.errors.HostingError` subclasses."""

    async def lookup_domain(self, domain: str) -> WhoisChain:
        """Registry and registrar answers for ``domain``."""
        ...

    async def lookup_ip(self, address: str) -> WhoisChain:
        """RIR answers for ``address``."""
        ...


RecordOutcome = tuple[NetworkRecord | RegistrarRecord | Failure, list[Evidence]]


def failure(source: str, exc: BaseException) -> Failure:
    """The failure entry for ``exc`` raised by ``source``."""
    code = exc.code if isinstance(exc, HostingError) else "ERROR"
    return Failure(source, code, str(exc)[:300])


async def rdap_domain(client: RdapLookup, domain: str) -> RecordOutcome:
    """Registrar of ``domain`` over RDAP."""
    try:
        answer = await client.domain(domain)
        return parse_domain(answer.data, answer.server, domain), [answer.evidence]
    except HostingError as exc:
        return failure("rdap", exc), []


async def rdap_network(client: RdapLookup, address: str) -> RecordOutcome:
    """Network of ``address`` over RDAP."""
    try:
        answer = await client.ip(address)
        return parse_network(answer.data, answer.server), [answer.evidence]
    except HostingError as exc:
        return failure("rdap", exc), []


def _referral_notes(chain: WhoisChain) -> list[str]:
    notes = []
    for exc in chain.failures:
        found = failure("whois", exc)
        notes.append(f"WHOIS referral failed: {found.error}: {found.detail}"[:400])
    return notes


def _useful(answers: Sequence[WhoisAnswer]) -> list[WhoisAnswer]:
    return [a for a in answers if a.server != IANA_WHOIS]


async def whois_domain(client: WhoisLookup, domain: str, parse_cap: int) -> RecordOutcome:
    """Registrar of ``domain`` over WHOIS: the registry's answer first, the registrar's after."""
    try:
        chain = await client.lookup_domain(domain)
    except HostingError as exc:
        return failure("whois", exc), []
    evidence = [a.evidence for a in chain.answers]
    records = [
        parse_domain_whois(domain, a.text, a.server, cap=parse_cap) for a in _useful(chain.answers)
    ]
    if not records:
        return Failure("whois", NotFound.code, "no WHOIS answer beyond IANA"), evidence
    merged = records[0]
    for extra in records[1:]:
        merged.name = merged.name or extra.name
        merged.iana_id = merged.iana_id or extra.iana_id
        merged.abuse_contacts = merged.abuse_contacts + extra.abuse_contacts
        merged.notes += extra.notes
        merged.server = f"{merged.server},{extra.server}"
    merged.notes += _referral_notes(chain)
    return merged, evidence


async def whois_network(client: WhoisLookup, address: str, parse_cap: int) -> RecordOutcome:
    """Network of ``address`` over WHOIS: the deepest answer that names a network."""
    try:
        chain = await client.lookup_ip(address)
    except HostingError as exc:
        return failure("whois", exc), []
    evidence = [a.evidence for a in chain.answers]
    records = [parse_ip_whois(a.text, a.server, cap=parse_cap) for a in _useful(chain.answers)]
    named = [r for r in records if r.cidrs] or records
    if not named:
        return Failure("whois", NotFound.code, "no WHOIS answer beyond IANA"), evidence
    record = named[-1]
    record.notes += _referral_notes(chain)
    return record, evidence
