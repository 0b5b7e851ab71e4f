"""What a trace of a world URL must find, worked out from the world model alone."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from sandbox.world.model import Domain, NameRecords, Network, Registrar, Registry, Rir, World


@dataclass(frozen=True)
class Expected:
    """The parties of one URL as the world defines them."""

    host: str
    domain: Domain
    registry: Registry
    registrar: Registrar
    network: Network | None
    """The network serving the host's address; None when its DNS fails."""
    rir: Rir | None
    cname_chain: tuple[str, ...]

    @property
    def traced(self) -> bool:
        return self.network is not None

    @property
    def behind_cdn(self) -> bool:
        return self.network is not None and self.network.is_cdn

    @property
    def hosting_country(self) -> str | None:
        if self.network is None or self.network.is_cdn:
            return None
        return self.network.country


def _records(world: World, name: str) -> NameRecords | None:
    for domain in world.domains:
        if name in domain.records:
            return domain.records[name]
    return world.hostnames.get(name)


def _domain_of(world: World, host: str) -> Domain:
    return next(d for d in world.domains if host == d.name or host.endswith("." + d.name))


def expected_for(world: World, url: str) -> Expected:
    """The host, registrar, network (or CDN) and country ``url`` leads to in ``world``."""
    host = (urlsplit(url).hostname or "").lower()
    domain = _domain_of(world, host)
    registry = next(r for r in world.registries if domain.name.endswith("." + r.tld))
    registrar = next(r for r in world.registrars if r.id == domain.registrar)
    chain: list[str] = []
    name = host
    network = None
    if domain.status == "active":
        for _ in range(10):
            records = _records(world, name)
            assert records is not None, f"the world has no records for {name}"
            if records.cname is None:
                address = ipaddress.ip_address(records.a[0])
                network = next(n for n in world.networks if any(address in r for r in n.ranges))
                break
            name = records.cname.rstrip(".")
            chain.append(name)
    rir = next((r for r in world.rirs if network and r.id == network.rir), None)
    return Expected(host, domain, registry, registrar, network, rir, tuple(chain))
