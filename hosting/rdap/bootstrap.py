"""RDAP service discovery from the IANA bootstrap registries (RFC 9224).

A dated snapshot ships in ``hosting/data/bootstrap``; ``TAKEDOWN_RDAP_BOOTSTRAP_DIR`` points at a
fresher copy. A bootstrap older than :data:`MAX_AGE` is refreshed through
:meth:`RdapBootstrap.refreshed` when the network allows; until then the old one keeps working.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from hosting.common.errors import HostingError, NoServiceKnown

REGISTRIES = ("dns", "ipv4", "ipv6", "asn")
MAX_AGE = timedelta(hours=48)
IANA_BOOTSTRAP_BASE = "https://data.iana.org/rdap/"

BootstrapFetch = Callable[[str], Awaitable[bytes]]
"""Fetches one registry file by name (``"dns.json"``); the refresh hook of the bootstrap."""


def _https_first(urls: list[str]) -> list[str]:
    # RFC 9224 section 3: prefer https when a service lists both.
    return sorted(urls, key=lambda u: not u.lower().startswith("https:"))


@dataclass(frozen=True, slots=True)
class _Registry:
    publication: datetime | None
    services: list[tuple[list[str], list[str]]]


def _read_registry(text: str) -> _Registry:
    data = json.loads(text)
    services = []
    for entry in data.get("services", []):
        if isinstance(entry, list) and len(entry) >= 2:
            keys = [str(k).lower() for k in entry[0]]
            urls = [str(u) if str(u).endswith("/") else f"{u}/" for u in entry[1]]
            services.append((keys, _https_first(urls)))
    raw_date = data.get("publication")
    publication = None
    if isinstance(raw_date, str):
        try:
            publication = datetime.fromisoformat(raw_date.replace("Z", "+00:00"))
        except ValueError:
            publication = None
    return _Registry(publication, services)


class RdapBootstrap:
    """Which RDAP server answers for a TLD, an address or an AS number."""

    def __init__(self, registries: Mapping[str, str], origin: str) -> None:
        self._registries = {name: _read_registry(text) for name, text in registries.items()}
        self.origin = origin
        """Where the files came from (a folder, ``package snapshot`` or a URL)."""
        self._ipv4 = self._networks("ipv4")
        self._ipv6 = self._networks("ipv6")

    def _networks(self, name: str) -> list[tuple[Any, list[str]]]:
        pairs = []
        registry = self._registries.get(name)
        for keys, urls in registry.services if registry else []:
            for key in keys:
                try:
                    pairs.append((ipaddress.ip_network(key, strict=False), urls))
                except ValueError:
                    continue
        # Longest prefix first, so the most specific registration wins.
        pairs.sort(key=lambda p: -p[0].prefixlen)
        return pairs

    @classmethod
    def from_directory(cls, folder: Path) -> RdapBootstrap:
        """Load ``dns.json``, ``ipv4.json``, ``ipv6.json`` and ``asn.json`` from ``folder``."""
        texts = {n: (folder / f"{n}.json").read_text("utf-8") for n in REGISTRIES}
        return cls(texts, str(folder))

    @classmethod
    def packaged(cls) -> RdapBootstrap:
        """The dated snapshot shipped with the package."""
        base = resources.files("hosting").joinpath("data/bootstrap")
        texts = {n: base.joinpath(f"{n}.json").read_text("utf-8") for n in REGISTRIES}
        return cls(texts, "package snapshot")

    @classmethod
    def from_setting(cls, folder: str | None) -> RdapBootstrap:
        """From ``TAKEDOWN_RDAP_BOOTSTRAP_DIR`` when set, else the packaged snapshot."""
        return cls.from_directory(Path(folder)) if folder else cls.packaged()

    def publication(self) -> datetime | None:
        """The oldest publication date among the registries (the age that matters)."""
        dates = [r.publication for r in self._registries.values() if r.publication]
        return min(dates) if dates else None

    def is_stale(self, now: datetime | None = None, max_age: timedelta = MAX_AGE) -> bool:
        """True when the bootstrap is older than ``max_age`` (or undated)."""
        published = self.publication()
        return published is None or (now or datetime.now(UTC)) - published > max_age

    async def refreshed(self, fetch: BootstrapFetch) -> RdapBootstrap:
        """A bootstrap rebuilt from freshly fetched registries, or ``self`` if any fetch or
        parse fails: a stale bootstrap still beats none."""
        texts = {}
        try:
            for name in REGISTRIES:
                texts[name] = (await fetch(f"{name}.json")).decode("utf-8")
            fresh = RdapBootstrap(texts, "refreshed")
        except (HostingError, UnicodeDecodeError, ValueError, KeyError):
            return self
        return fresh

    def base_urls(self) -> list[str]:
        """Every base URL the bootstrap names, of every registry."""
        found = [u for r in self._registries.values() for _, urls in r.services for u in urls]
        return list(dict.fromkeys(found))

    def for_domain(self, domain: str) -> list[str]:
        """Base URLs for ``domain``: the longest matching label suffix wins (RFC 9224 4)."""
        labels = domain.lower().rstrip(".").split(".")
        registry = self._registries.get("dns")
        table = {key: urls for keys, urls in registry.services for key in keys} if registry else {}
        for start in range(len(labels)):
            urls = table.get(".".join(labels[start:]))
            if urls:
                return urls
        raise NoServiceKnown(f"no RDAP service for the TLD of {domain}")

    def for_address(self, address: str) -> list[str]:
        """Base URLs for an IP address: the most specific registered prefix wins."""
        ip = ipaddress.ip_address(address)
        for network, urls in self._ipv4 if ip.version == 4 else self._ipv6:
            if ip in network:
                return list(urls)
        raise NoServiceKnown(f"no RDAP service for {address}")

    def for_asn(self, asn: int) -> list[str]:
        """Base URLs for an AS number."""
        registry = self._registries.get("asn")
        for keys, urls in registry.services if registry else []:
            for key in keys:
                low, _, high = key.partition("-")
                if low.isdigit() and int(low) <= asn <= int(high or low):
                    return urls
        raise NoServiceKnown(f"no RDAP service for AS{asn}")
