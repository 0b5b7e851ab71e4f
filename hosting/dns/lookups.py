"""DNS lookups of a reported host: addresses, the full CNAME chain and a domain's nameservers.

Uses dnspython's async resolver against ``TAKEDOWN_DNS_NAMESERVERS`` (``host[:port]``, comma
separated; ``[v6]:port`` for IPv6) or the system's. A failed lookup is an *outcome*
(``NXDOMAIN``, ``SERVFAIL``, ``TIMEOUT``, ...), never an exception, so a batch can go on.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.rdatatype
import dns.resolver
from dns.asyncresolver import Resolver as AsyncResolver

from hosting.common.evidence import Evidence
from hosting.common.limits import Limits


class DnsStatus(StrEnum):
    """What a lookup came to."""

    OK = "OK"
    NXDOMAIN = "NXDOMAIN"
    NO_ANSWER = "NO_ANSWER"
    """The name exists but has no address records."""
    SERVFAIL = "SERVFAIL"
    """Every nameserver failed (SERVFAIL, REFUSED or a broken answer)."""
    TIMEOUT = "TIMEOUT"
    ERROR = "ERROR"


@dataclass(slots=True)
class DnsAnswer:
    """Addresses and CNAME chain of one host, or why there are none."""

    host: str
    status: DnsStatus
    addresses: list[str] = field(default_factory=list)
    cname_chain: list[str] = field(default_factory=list)
    """Each alias followed, in order, ending with the canonical name; empty when no CNAME."""
    evidence: list[Evidence] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON object that :meth:`from_json` reads back (for caches)."""
        return {
            "host": self.host,
            "status": self.status.value,
            "addresses": list(self.addresses),
            "cname_chain": list(self.cname_chain),
            "evidence": [e.to_record() for e in self.evidence],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DnsAnswer:
        """Rebuild what :meth:`to_json` wrote."""
        return cls(
            host=str(data["host"]),
            status=DnsStatus(data["status"]),
            addresses=list(data["addresses"]),
            cname_chain=list(data["cname_chain"]),
            evidence=[Evidence.from_record(e) for e in data["evidence"]],
        )


def parse_nameservers(setting: str | None) -> list[tuple[str, int]]:
    """``host[:port]`` entries of ``TAKEDOWN_DNS_NAMESERVERS``; IPv6 as ``[addr]:port`` or bare.

    Raises ValueError naming the entry that is not an IP address with an optional port."""
    servers = []
    for entry in (setting or "").split(","):
        text = entry.strip()
        if not text:
            continue
        host, port = text, 53
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            if rest.startswith(":"):
                port = int(rest[1:])
        elif text.count(":") == 1:
            host, _, port_text = text.partition(":")
            port = int(port_text)
        ipaddress.ip_address(host)
        if not 0 < port < 65536:
            raise ValueError(f"nameserver port out of range in {text!r}")
        servers.append((host, port))
    return servers


def resolver_for(nameservers: Sequence[tuple[str, int]], lifetime: float) -> AsyncResolver:
    """dnspython's async resolver on ``nameservers`` (the system's when empty), each lookup
    bounded by ``lifetime`` seconds and each try by a third of it."""
    if nameservers:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [dns.nameserver.Do53Nameserver(h, p) for h, p in nameservers]
    else:
        resolver = dns.asyncresolver.Resolver()
    resolver.lifetime = lifetime
    resolver.timeout = max(0.2, lifetime / 3)
    return resolver


def status_of(exc: BaseException) -> DnsStatus:
    """What a dnspython exception means for a lookup."""
    if isinstance(exc, dns.resolver.NXDOMAIN):
        return DnsStatus.NXDOMAIN
    if isinstance(exc, dns.resolver.NoAnswer):
        return DnsStatus.NO_ANSWER
    if isinstance(exc, dns.resolver.NoNameservers):
        return DnsStatus.SERVFAIL
    if isinstance(exc, dns.exception.Timeout | TimeoutError):
        return DnsStatus.TIMEOUT
    return DnsStatus.ERROR


class DnsClient:
    """Resolves hosts through dnspython's async resolver, with a hard lifetime per lookup and at
    most ``Limits.dns_concurrency`` queries in flight."""

    def __init__(
        self, nameservers: Sequence[tuple[str, int]] = (), limits: Limits | None = None
    ) -> None:
        self._limits = limits or Limits()
        self._resolver = resolver_for(nameservers, self._limits.timeouts.dns)
        self._slots = asyncio.Semaphore(max(1, self._limits.dns_concurrency))

    @classmethod
    def from_setting(cls, setting: str | None, limits: Limits | None = None) -> DnsClient:
        """A client for ``TAKEDOWN_DNS_NAMESERVERS`` (the system's nameservers when empty)."""
        return cls(parse_nameservers(setting), limits)

    async def _query(self, name: str, rdtype: str) -> dns.resolver.Answer:
        # The wait for a slot (Limits.dns_concurrency) is not part of the lookup's lifetime.
        async with self._slots, asyncio.timeout(self._limits.timeouts.dns + 1):
            return await self._resolver.resolve(name, rdtype, search=False)

    def _evidence(self, answer: dns.resolver.Answer, query: str) -> Evidence:
        server = f"{answer.nameserver}:{answer.port}" if answer.nameserver else "resolver"
        return Evidence.capture(
            "dns", server, query, answer.response.to_wire(), cap=self._limits.caps.evidence_bytes
        )

    async def resolve_host(self, host: str) -> DnsAnswer:
        """A and AAAA of ``host`` (asked together) with the CNAME chain that led to them."""
        results = await asyncio.gather(
            self._query(host, "A"), self._query(host, "AAAA"), return_exceptions=True
        )
        result = DnsAnswer(host, DnsStatus.OK)
        statuses = []
        for rdtype, outcome in zip(("A", "AAAA"), results, strict=True):
            if isinstance(outcome, BaseException):
                if not isinstance(outcome, Exception):
                    raise outcome
                statuses.append(status_of(outcome))
                continue
            result.evidence.append(self._evidence(outcome, f"{host} {rdtype}"))
            if not result.cname_chain:
                chain = [
                    str(rrset[0].target).rstrip(".") for rrset in outcome.chaining_result.cnames
                ]
                result.cname_chain = [c.lower() for c in chain]
            for rdata in outcome.rrset or []:
                result.addresses.append(str(rdata))
        if not result.addresses:
            # Both failed: report the most telling failure (NXDOMAIN beats a timeout).
            order = list(DnsStatus)
            result.status = min(statuses, key=order.index) if statuses else DnsStatus.NO_ANSWER
        return result

    async def nameservers(self, domain: str) -> tuple[DnsStatus, list[str]]:
        """The NS names of ``domain`` (lower case, sorted), or why there are none."""
        try:
            answer = await self._query(domain, "NS")
        except Exception as exc:  # every resolver failure is an outcome here
            return status_of(exc), []
        names = sorted(str(r.target).rstrip(".").lower() for r in answer.rrset or [])
        return DnsStatus.OK, names
