"""What a registry told us, as plain data: the network an address is in, and a domain's registrar.

Records are built by the pure parsers (:mod:`hosting.rdap.parse`, :mod:`hosting.whois.parse`) and
round-trip through JSON so that a cache can keep them. Every string in them came from hostile
input: :func:`clean_text` strips control characters and caps the length before it is stored.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from hosting.common.contacts import AbuseContact

MAX_NAME = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_COUNTRY = re.compile(r"^[A-Z]{2}$")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def clean_text(value: object, cap: int = MAX_NAME) -> str | None:
    """``value`` as a single line of at most ``cap`` characters, or None if empty or not text."""
    if not isinstance(value, str):
        return None
    text = " ".join(_CONTROL.sub(" ", value).split())
    return text[:cap] or None


def clean_country(value: object) -> str | None:
    """An ISO 3166 alpha-2 code in upper case, or None."""
    text = clean_text(value, 8)
    if text is None:
        return None
    code = text.upper()
    return code if _COUNTRY.match(code) else None


def cidrs_for_range(start: str, end: str) -> list[str]:
    """The CIDR prefixes exactly covering ``start``..``end``; empty when the range is unreadable."""
    try:
        first = ipaddress.ip_address(start.split("/")[0].strip())
        last = ipaddress.ip_address(end.split("/")[0].strip())
        if isinstance(first, ipaddress.IPv4Address) and isinstance(last, ipaddress.IPv4Address):
            networks: list[IPNetwork] = list(ipaddress.summarize_address_range(first, last))
        elif isinstance(first, ipaddress.IPv6Address) and isinstance(last, ipaddress.IPv6Address):
            networks = list(ipaddress.summarize_address_range(first, last))
        else:
            return []
        return [str(n) for n in networks[:64]]
    except ValueError:
        return []


def clean_cidr(value: str) -> str | None:
    """``value`` as a canonical CIDR prefix, or None."""
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError:
        return None


@dataclass(slots=True)
class NetworkRecord:
    """The network an IP address belongs to, as one source described it."""

    source: str
    """``rdap`` or ``whois``."""
    server: str
    name: str | None = None
    handle: str | None = None
    organisation: str | None = None
    country: str | None = None
    asn: int | None = None
    cidrs: list[str] = field(default_factory=list)
    abuse_contacts: list[AbuseContact] = field(default_factory=list)
    other_emails: list[str] = field(default_factory=list)
    """Valid addresses that are not abuse desks; their domain feeds the last-resort guess."""
    notes: list[str] = field(default_factory=list)

    @property
    def prefix(self) -> str | None:
        """The first prefix of the network, as shown to people."""
        return self.cidrs[0] if self.cidrs else None

    def covers(self, address: str) -> bool:
        """True when ``address`` is inside one of the network's prefixes."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(c) for c in self.cidrs)

    def to_json(self) -> dict[str, Any]:
        """A JSON object that :meth:`from_json` reads back (for caches)."""
        return {
            "source": self.source,
            "server": self.server,
            "name": self.name,
            "handle": self.handle,
            "organisation": self.organisation,
            "country": self.country,
            "asn": self.asn,
            "cidrs": list(self.cidrs),
            "abuse_contacts": [c.to_json() for c in self.abuse_contacts],
            "other_emails": list(self.other_emails),
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NetworkRecord:
        """Rebuild what :meth:`to_json` wrote."""
        return cls(
            source=data["source"],
            server=data["server"],
            name=data.get("name"),
            handle=data.get("handle"),
            organisation=data.get("organisation"),
            country=data.get("country"),
            asn=data.get("asn"),
            cidrs=list(data.get("cidrs", [])),
            abuse_contacts=[AbuseContact.from_json(c) for c in data.get("abuse_contacts", [])],
            other_emails=list(data.get("other_emails", [])),
            notes=list(data.get("notes", [])),
        )


@dataclass(slots=True)
class RegistrarRecord:
    """A domain's registrar and its abuse desk, as one source described them."""

    source: str
    server: str
    domain: str
    name: str | None = None
    iana_id: str | None = None
    abuse_contacts: list[AbuseContact] = field(default_factory=list)
    other_emails: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    registrant_country: str | None = None
    """The registrant's country where the record shows it (ISO 3166 alpha-2)."""

    def to_json(self) -> dict[str, Any]:
        """A JSON object that :meth:`from_json` reads back (for caches)."""
        return {
            "source": self.source,
            "server": self.server,
            "domain": self.domain,
            "name": self.name,
            "iana_id": self.iana_id,
            "registrant_country": self.registrant_country,
            "abuse_contacts": [c.to_json() for c in self.abuse_contacts],
            "other_emails": list(self.other_emails),
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RegistrarRecord:
        """Rebuild what :meth:`to_json` wrote."""
        return cls(
            source=data["source"],
            server=data["server"],
            domain=data["domain"],
            name=data.get("name"),
            iana_id=data.get("iana_id"),
            abuse_contacts=[AbuseContact.from_json(c) for c in data.get("abuse_contacts", [])],
            other_emails=list(data.get("other_emails", [])),
            notes=list(data.get("notes", [])),
            registrant_country=data.get("registrant_country"),
        )
