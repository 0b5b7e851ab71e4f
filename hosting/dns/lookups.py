"""DNS lookups of a reported host: addresses, the full CNAME chain and a domain's nameservers.

Uses dnspython's async resolver against ``TAKEDOWN_DNS_NAMESERVERS`` (``host[:port]``, comma
separated; ``[v6]:port`` for IPv6) or the system's. A failed lookup is an *outcome*
(``NXDOMAIN``, ``SERVFAIL``, ``TIMEOUT``, ...), never an exception, so a batch can go on.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
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
from hosting.common.slots import Slots
from hosting.dns import quick


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


def first_do53(resolver: AsyncResolver) -> tuple[str, int] | None:
    """The first nameserver, when it is plain DNS over UDP (the only kind a quick try asks)."""
    for server in resolver.nameservers[:1]:
        if isinstance(server, dns.nameserver.Do53Nameserver):
            return server.address, server.port
        if isinstance(server, str):
            return server, resolver.port
    return None


_QUICK_TYPES = {"A": quick.A, "AAAA": quick.AAAA}


@dataclass(frozen=True, slots=True)
class _Records:
    """One record type's answer: the addresses, the aliases followed, the evidence."""

    addresses: list[str]
    cname_chain: list[str]
    evidence: Evidence


class DnsClient:
    """Resolves hosts with a hard lifetime per lookup and at most
    ``Limits.dns_concurrency`` queries in flight.

    Each query first makes one quick try at the first nameserver (:mod:`hosting.dns.quick`: a
    hand-built query, the answer read by hand and kept byte for byte as evidence), and asks
    dnspython's async resolver only when that try is not sure of the answer (a failure, a
    truncated or unusual answer, a timeout): a trace of thousands of hosts then spends a
    fraction of the CPU a general resolver would."""

    def __init__(
        self,
        nameservers: Sequence[tuple[str, int]] = (),
        limits: Limits | None = None,
        *,
        quick: bool = True,
    ) -> None:
        """With ``quick`` false, every query goes through dnspython alone."""
        self._limits = limits or Limits()
        self._resolver = resolver_for(nameservers, self._limits.timeouts.dns)
        self._slots = Slots(max(1, self._limits.dns_concurrency))
        self._quick_server = first_do53(self._resolver) if quick else None

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

    async def _records(self, host: str, rdtype: str) -> _Records | DnsStatus:
        """The ``rdtype`` records of ``host``, or why there are none (never raises for DNS)."""
        async with self._slots:
            server = self._quick_server
            lifetime = self._limits.timeouts.dns
            started = time.monotonic()
            if server is not None:
                found = await quick.ask_keeping_packet(
                    server, host, _QUICK_TYPES[rdtype], self._resolver.timeout
                )
                if found is not None:
                    answer, packet = found
                    if answer.nxdomain:
                        return DnsStatus.NXDOMAIN
                    if not answer.addresses:
                        return DnsStatus.NO_ANSWER
                    evidence = Evidence.capture(
                        "dns",
                        f"{server[0]}:{server[1]}",
                        f"{host} {rdtype}",
                        packet,
                        cap=self._limits.caps.evidence_bytes,
                    )
                    return _Records(answer.addresses, answer.cname_chain, evidence)
                lifetime = max(self._resolver.timeout, lifetime - (time.monotonic() - started))
            try:
                async with asyncio.timeout(lifetime + 1):
                    result = await self._resolver.resolve(
                        host, rdtype, search=False, lifetime=lifetime
                    )
            except Exception as exc:  # every resolver failure is an outcome here
                return status_of(exc)
        chain = [
            str(rrset[0].target).rstrip(".").lower() for rrset in result.chaining_result.cnames
        ]
        return _Records(
            [str(rdata) for rdata in result.rrset or []],
            chain,
            self._evidence(result, f"{host} {rdtype}"),
        )

    async def resolve_host(self, host: str) -> DnsAnswer:
        """A and AAAA of ``host`` (asked together) with the CNAME chain that led to them."""
        results = await asyncio.gather(self._records(host, "A"), self._records(host, "AAAA"))
        result = DnsAnswer(host, DnsStatus.OK)
        statuses = []
        for outcome in results:
            if isinstance(outcome, DnsStatus):
                statuses.append(outcome)
                continue
            result.evidence.append(outcome.evidence)
            if not result.cname_chain:
                result.cname_chain = list(outcome.cname_chain)
            result.addresses.extend(outcome.addresses)
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
