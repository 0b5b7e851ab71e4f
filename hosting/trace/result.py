"""The outcome of tracing one URL: who hosts it, who registered its domain, what stands in front,
which country should hear of it, and the evidence for each of those.

:meth:`HostingResult.to_json` is the object ``takedown resolve URL --json`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hosting.common.contacts import AbuseContact
from hosting.common.evidence import Evidence
from hosting.trace.cdn import CdnMatch


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a source gave nothing: ``{"source": "rdap", "error": "RATE_LIMITED"}``."""

    source: str
    error: str
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        """The entry in a result's ``errors`` list."""
        entry = {"source": self.source, "error": self.error}
        if self.detail:
            entry["detail"] = self.detail
        return entry


@dataclass(slots=True)
class NetworkSummary:
    """The hosting network, merged from every source that described it."""

    asn: int | None
    prefix: str | None
    name: str | None
    organisation: str | None
    country: str | None
    abuse_contacts: list[AbuseContact]
    source: str
    """``rdap``, ``whois`` or ``rdap+whois``."""

    def to_json(self) -> dict[str, Any]:
        """The ``network`` object of the result."""
        return {
            "asn": self.asn,
            "prefix": self.prefix,
            "name": self.name,
            "organisation": self.organisation,
            "country": self.country,
            "abuse_contacts": [c.to_json() for c in self.abuse_contacts],
            "source": self.source,
        }


@dataclass(slots=True)
class RegistrarSummary:
    """The registrar of the registrable domain, merged from every source that named it."""

    name: str | None
    iana_id: str | None
    abuse_contacts: list[AbuseContact]
    source: str

    def to_json(self) -> dict[str, Any]:
        """The ``registrar`` object of the result."""
        return {
            "name": self.name,
            "iana_id": self.iana_id,
            "abuse_contacts": [c.to_json() for c in self.abuse_contacts],
            "source": self.source,
        }


@dataclass(slots=True)
class HostingResult:
    """Everyone who can remove a URL's content or must be told of it, with the evidence."""

    url: str
    host: str
    registrable_domain: str | None
    ips: list[str] = field(default_factory=list)
    cname_chain: list[str] = field(default_factory=list)
    network: NetworkSummary | None = None
    registrar: RegistrarSummary | None = None
    cdn: CdnMatch | None = None
    hosting_country: str | None = None
    """Country of the hosting network; None when a CDN hides the real host."""
    evidence: list[Evidence] = field(default_factory=list)
    errors: list[Failure] = field(default_factory=list)

    @property
    def host_contacts(self) -> list[AbuseContact]:
        """Who to notify as host: the CDN's desk when one is in front, else the network's."""
        if self.cdn is not None:
            return self.cdn.provider.contacts()
        return list(self.network.abuse_contacts) if self.network else []

    def to_json(self) -> dict[str, Any]:
        """The JSON printed by ``takedown resolve URL --json``."""
        return {
            "url": self.url,
            "host": self.host,
            "registrable_domain": self.registrable_domain,
            "ips": list(self.ips),
            "cname_chain": list(self.cname_chain),
            "network": self.network.to_json() if self.network else None,
            "registrar": self.registrar.to_json() if self.registrar else None,
            "cdn": self.cdn.to_json() if self.cdn else None,
            "hosting_country": self.hosting_country,
            "evidence": [e.to_json() for e in self.evidence],
            "errors": [e.to_json() for e in self.errors],
        }
