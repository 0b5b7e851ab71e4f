"""The probe's own lookups: addresses only, IPv4 first, and no evidence kept.

A trace keeps every DNS answer as evidence (:class:`hosting.dns.lookups.DnsClient`); a recheck of
100,000 URLs only needs to know where to connect, many times a day. So the probe asks for A
records and asks for AAAA only when there are none (it would connect over IPv4 first anyway),
and keeps nothing but the addresses. Same settings as the trace: ``TAKEDOWN_DNS_NAMESERVERS``.

Each address lookup first makes one quick try at the first nameserver (:mod:`.probe_stub`), and
asks dnspython only when that try is not sure of the answer: most lookups of a recheck then
cost a fraction of what a general resolver spends on them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.resolver

from hosting.dns import quick as probe_stub
from hosting.dns.lookups import (
    DnsAnswer,
    DnsStatus,
    first_do53,
    parse_nameservers,
    resolver_for,
    status_of,
)

_QUICK_TYPES = {"A": probe_stub.A, "AAAA": probe_stub.AAAA}


class ProbeResolver:
    """Resolves hosts for the probe through dnspython, with a hard lifetime per lookup."""

    def __init__(
        self,
        nameservers: Sequence[tuple[str, int]] = (),
        lifetime: float = 5.0,
        *,
        quick: bool = True,
    ) -> None:
        """With ``quick`` false, every lookup goes through dnspython alone."""
        resolver = self._resolver = resolver_for(nameservers, lifetime)
        self._lifetime = lifetime
        self._quick_server = first_do53(resolver) if quick else None

    @classmethod
    def from_setting(cls, setting: str | None, lifetime: float = 5.0) -> ProbeResolver:
        """A resolver for ``TAKEDOWN_DNS_NAMESERVERS`` (the system's nameservers when empty)."""
        return cls(parse_nameservers(setting), lifetime)

    async def _lookup(self, name: str, rdtype: str) -> tuple[DnsStatus, list[str]]:
        """The quick try, then dnspython within what is left of the lifetime if need be."""
        started = time.monotonic()
        if self._quick_server is not None:
            quick = await probe_stub.ask(
                self._quick_server, name, _QUICK_TYPES[rdtype], self._resolver.timeout
            )
            if quick is not None:
                if quick.nxdomain:
                    return DnsStatus.NXDOMAIN, []
                return (DnsStatus.OK if quick.addresses else DnsStatus.NO_ANSWER), quick.addresses
        left = self._lifetime - (time.monotonic() - started)
        return await self._ask(name, rdtype, max(left, self._resolver.timeout))

    async def _ask(
        self, name: str, rdtype: str, lifetime: float | None = None
    ) -> tuple[DnsStatus, list[str]]:
        lifetime = self._lifetime if lifetime is None else lifetime
        try:
            async with asyncio.timeout(lifetime + 1):
                answer = await self._resolver.resolve(
                    name, rdtype, search=False, raise_on_no_answer=False, lifetime=lifetime
                )
        except dns.resolver.NoAnswer:
            return DnsStatus.NO_ANSWER, []
        except Exception as exc:  # every resolver failure is an outcome here
            return status_of(exc), []
        values = [str(r) for r in answer.rrset or []]
        return (DnsStatus.OK if values else DnsStatus.NO_ANSWER), values

    async def resolve_host(self, host: str) -> DnsAnswer:
        """The A records of ``host``, else its AAAA records, else why there are none."""
        status, addresses = await self._lookup(host, "A")
        if not addresses and status in (DnsStatus.OK, DnsStatus.NO_ANSWER):
            status, addresses = await self._lookup(host, "AAAA")
        return DnsAnswer(host, status if not addresses else DnsStatus.OK, addresses)

    async def nameservers(self, domain: str) -> tuple[DnsStatus, list[str]]:
        """The NS names of ``domain`` (lower case, sorted), or why there are none."""
        status, names = await self._ask(domain, "NS")
        return status, sorted(n.rstrip(".").lower() for n in names)
