"""Lookup tables over a `World`, built once at load so that no query scans the world."""

from __future__ import annotations

import bisect
import ipaddress
import itertools
from dataclasses import dataclass

from sandbox.world.model import (
    ContentUrl,
    Domain,
    Hotline,
    IPAddress,
    IPNetwork,
    NameRecords,
    Network,
    Partner,
    Registrar,
    Registry,
    Rir,
    World,
)

Party = Network | Registrar | Partner | Hotline


@dataclass(frozen=True, slots=True)
class Allocation:
    """One address range and the organisation holding it."""

    network: IPNetwork
    holder: Network


class RangeTable:
    """Finds the allocation holding an address by binary search over sorted, disjoint ranges."""

    def __init__(self, allocations: list[Allocation]) -> None:
        self._by_version: dict[int, tuple[list[int], list[Allocation]]] = {}
        for version in (4, 6):
            own = sorted(
                (a for a in allocations if a.network.version == version),
                key=lambda a: int(a.network.network_address),
            )
            self._by_version[version] = ([int(a.network.network_address) for a in own], own)

    def find(self, address: IPAddress) -> Allocation | None:
        """Return the allocation containing `address`, if any."""
        starts, allocations = self._by_version[address.version]
        i = bisect.bisect_right(starts, int(address)) - 1
        if i >= 0 and address in allocations[i].network:
            return allocations[i]
        return None

    def overlaps(self) -> list[tuple[Allocation, Allocation]]:
        """Pairs of neighbouring allocations that overlap (a world error)."""
        found = []
        for _, allocations in self._by_version.values():
            for first, second in itertools.pairwise(allocations):
                if first.network.overlaps(second.network):
                    found.append((first, second))
        return found


def org_handle(network: Network) -> str:
    """The registry handle of a provider's or CDN's organisation."""
    return network.id.upper().replace("-", "")


def ptr_name(address: IPAddress, holder: Network) -> str:
    """The reverse-DNS name of an address of `holder` (forward-resolvable in the sandbox)."""
    label = str(address).replace(".", "-").replace(":", "-")
    return f"ip-{label}.{holder.domain}"


class WorldIndex:
    """Every lookup a server needs, keyed by what arrives in a query."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.rirs: dict[str, Rir] = {r.id: r for r in world.rirs}
        self.registries: dict[str, Registry] = {r.tld: r for r in world.registries}
        self.registrars: dict[str, Registrar] = {r.id: r for r in world.registrars}
        self.networks: dict[str, Network] = {n.id: n for n in world.networks}
        self.networks_by_asn: dict[int, Network] = {n.asn: n for n in world.networks}
        self.networks_by_handle: dict[str, Network] = {
            org_handle(n).lower(): n for n in world.networks
        }
        self.registrars_by_iana: dict[str, Registrar] = {
            str(r.iana_id): r for r in world.registrars
        }
        self.domains: dict[str, Domain] = {d.name: d for d in world.domains}
        self.urls: dict[str, ContentUrl] = {u.key: u for u in world.urls}
        self.ranges = RangeTable([Allocation(r, n) for n in world.networks for r in n.ranges])
        self.records: dict[str, NameRecords] = dict(world.hostnames)
        for domain in world.domains:
            self.records.update(domain.records)
        self.content_addresses = self._content_addresses()
        self.ptr: dict[str, str] = {}
        for address in self.content_addresses:
            allocation = self.ranges.find(ipaddress.ip_address(address))
            if allocation is not None:
                name = ptr_name(ipaddress.ip_address(address), allocation.holder)
                reverse = ipaddress.ip_address(address).reverse_pointer
                self.ptr[reverse] = name
                if ":" in address:
                    self.records.setdefault(name, NameRecords(aaaa=(address,)))
                else:
                    self.records.setdefault(name, NameRecords(a=(address,)))
        self.mailboxes: dict[str, list[Party]] = {}
        parties: list[tuple[str, Party]] = [(n.abuse_email, n) for n in world.networks]
        parties += [(n.also_email, n) for n in world.networks if n.also_email]
        parties += [(n.noc_email, n) for n in world.networks if n.noc_email != n.abuse_email]
        parties += [(r.abuse_email, r) for r in world.registrars]
        parties += [
            (r.general_email, r) for r in world.registrars if r.general_email != r.abuse_email
        ]
        parties += [(p.email, p) for p in world.partners]
        parties += [(world.hotline.from_address, world.hotline)]
        parties += [(world.hotline.reply_to, world.hotline)]
        for address, party in parties:
            self.mailboxes.setdefault(address.lower(), []).append(party)

    def _content_addresses(self) -> list[str]:
        """Every address a content host must listen on: published ones and move targets."""
        addresses: set[str] = set()
        for records in self.records.values():
            addresses.update(records.a)
            addresses.update(records.aaaa)
        for network in self.world.networks:
            if not network.is_cdn:
                addresses.add(str(network.home_address))
        return sorted(addresses, key=lambda a: (":" in a, ipaddress.ip_address(a).packed))

    def registered_domain(self, name: str) -> Domain | None:
        """The world domain that `name` is, or is under."""
        labels = name.lower().rstrip(".").split(".")
        for i in range(len(labels) - 1):
            domain = self.domains.get(".".join(labels[i:]))
            if domain is not None:
                return domain
        return None

    def holder_of(self, address: str) -> Network | None:
        """The provider or CDN whose range holds `address`."""
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return None
        allocation = self.ranges.find(parsed)
        return allocation.holder if allocation else None
