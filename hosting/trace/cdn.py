"""Recognising CDNs and reverse proxies in front of a host.

When the address a host resolves to belongs to a CDN, the CDN is who can act (and who must be
told), and the server behind it is unknown until the CDN discloses it. Providers are matched by
address range, by a CNAME in the chain, or by the network owner's name, from a maintained data
file (``hosting/data/cdn.json``) that a deployment can extend with files of the same shape.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from hosting.common.contacts import AbuseContact, Confidence, InvalidAddress, normalise_email
from hosting.common.registrations import IPNetwork

CATALOGUE_SOURCE = "cdn-catalogue"
NAMED_CDN = re.compile(r"\bCDN\b", re.IGNORECASE)
"""A network whose owner calls itself a CDN is one, even when the catalogue does not list it."""


@dataclass(frozen=True, slots=True)
class CdnProvider:
    """One CDN: its abuse desk and the signs that an address or name belongs to it."""

    name: str
    abuse_emails: tuple[str, ...]
    owner_patterns: tuple[str, ...]
    cname_suffixes: tuple[str, ...]
    ranges: tuple[IPNetwork, ...]
    registry_contacts: tuple[AbuseContact, ...] = ()
    """For a provider known only by its network's name: the abuse desks its registry record
    gives, used instead of catalogue addresses."""

    def contacts(self) -> list[AbuseContact]:
        """The provider's published abuse desks as ranked contacts."""
        if self.registry_contacts:
            return list(self.registry_contacts)
        return [
            AbuseContact(e, CATALOGUE_SOURCE, Confidence.CATALOGUE, f"{self.name} abuse desk")
            for e in self.abuse_emails
        ]


@dataclass(frozen=True, slots=True)
class CdnMatch:
    """A provider found in front of a host, and the sign that gave it away."""

    provider: CdnProvider
    matched_by: str

    def to_json(self) -> dict[str, Any]:
        """The ``cdn`` object of a resolution result."""
        return {
            "name": self.provider.name,
            "abuse_contacts": [c.to_json() for c in self.provider.contacts()],
            "matched_by": self.matched_by,
            "real_host_known": False,
        }


def _provider(data: dict[str, Any]) -> CdnProvider:
    emails = []
    for raw in data.get("abuse_contacts", []):
        try:
            emails.append(normalise_email(str(raw)))
        except InvalidAddress:
            continue
    return CdnProvider(
        name=str(data["name"]),
        abuse_emails=tuple(emails),
        owner_patterns=tuple(str(p).upper() for p in data.get("owner_patterns", [])),
        cname_suffixes=tuple(str(s).lower().strip(".") for s in data.get("cname_suffixes", [])),
        ranges=tuple(ipaddress.ip_network(str(r), strict=False) for r in data.get("ranges", [])),
    )


def named_cdn(owner_names: Sequence[str], contacts: Sequence[AbuseContact]) -> CdnMatch | None:
    """A CDN the catalogue does not know, recognised by a network owner name with the word
    ``CDN`` in it; its abuse desks are the network's own ``contacts``."""
    for owner in owner_names:
        if NAMED_CDN.search(owner):
            provider = CdnProvider(owner, (), (), (), (), registry_contacts=tuple(contacts))
            return CdnMatch(provider, "network owner name says CDN")
    return None


class CdnCatalogue:
    """The known CDNs; later files replace providers of the same name."""

    def __init__(self, providers: Iterable[CdnProvider]) -> None:
        self.providers = {p.name.lower(): p for p in providers}

    @classmethod
    def load(cls, extra_files: Sequence[Path] = ()) -> CdnCatalogue:
        """The shipped catalogue, extended or overridden by each of ``extra_files`` in order."""
        text = resources.files("hosting").joinpath("data/cdn.json").read_text("utf-8")
        providers = [_provider(p) for p in json.loads(text)["providers"]]
        for path in extra_files:
            providers += [_provider(p) for p in json.loads(path.read_text("utf-8"))["providers"]]
        return cls(providers)

    def match(
        self, addresses: Sequence[str], cname_chain: Sequence[str], owner_names: Sequence[str]
    ) -> CdnMatch | None:
        """The CDN in front of a host with these addresses, CNAME chain and network owner
        names, or None. Address ranges are the strongest sign, then CNAMEs, then owner names."""
        ips = []
        for address in addresses:
            try:
                ips.append(ipaddress.ip_address(address))
            except ValueError:
                continue
        for provider in self.providers.values():
            for ip in ips:
                for network in provider.ranges:
                    if ip.version == network.version and ip in network:
                        return CdnMatch(provider, f"address in {network}")
        for provider in self.providers.values():
            for name in cname_chain:
                host = name.lower().rstrip(".")
                for suffix in provider.cname_suffixes:
                    if host == suffix or host.endswith("." + suffix):
                        return CdnMatch(provider, f"CNAME under {suffix}")
        for provider in self.providers.values():
            for owner in owner_names:
                upper = owner.upper()
                for pattern in provider.owner_patterns:
                    if pattern in upper:
                        return CdnMatch(provider, f"network owner name contains {pattern}")
        return None
