"""Consistency rules of a world: every reference resolves and every published address is served."""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterable

from sandbox.world.index import WorldIndex
from sandbox.world.model import World, WorldError

# The sandbox's own servers live on 127.0.0.0/16; worlds get the rest of the loopback block.
LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
RESERVED = ipaddress.ip_network("127.0.0.0/16")
IPV6_LOOPBACK = ipaddress.ip_network("::1/128")
MAX_CNAME_CHAIN = 8


def _unique(kind: str, keys: Iterable[object]) -> None:
    repeated = [k for k, n in Counter(keys).items() if n > 1]
    if repeated:
        raise WorldError(f"{kind} defined more than once: {repeated[:5]}")


def check_world(world: World) -> WorldIndex:
    """Raise `WorldError` on the first broken rule; return the world's index when all hold."""
    _unique("rir", (r.id for r in world.rirs))
    _unique("registry", (r.tld for r in world.registries))
    _unique("registrar", (r.id for r in world.registrars))
    _unique("provider/cdn", (n.id for n in world.networks))
    _unique("asn", (n.asn for n in world.networks))
    _unique("domain", (d.name for d in world.domains))
    _unique("url", (u.key for u in world.urls))
    _unique("partner", (p.code for p in world.partners))
    _unique(
        "whois server",
        [r.whois_server for r in world.rirs]
        + [r.whois_server for r in world.registries]
        + [r.whois_server for r in world.registrars],
    )
    index = WorldIndex(world)
    _check_networks(world, index)
    _check_domains(world, index)
    _check_names(index)
    for url in world.urls:
        if not _resolves(index, url.host):
            raise WorldError(f"url {url.url(world.content_port)}: its host has no address")
    return index


def _check_networks(world: World, index: WorldIndex) -> None:
    for network in world.networks:
        if network.rir not in index.rirs:
            raise WorldError(f"{network.id}: unknown rir {network.rir!r}")
        for r in network.ranges:
            if r.version == 6:
                inside = r == IPV6_LOOPBACK
            else:
                inside = r.subnet_of(LOOPBACK) and not r.overlaps(RESERVED)  # type: ignore[arg-type]
            if not inside:
                raise WorldError(
                    f"{network.id}: range {r} must lie in 127.0.0.0/8 outside 127.0.0.0/16"
                    " (or be ::1/128)"
                )
        target = network.behaviour.move_to
        if network.behaviour.action == "move":
            moved_to = index.networks.get(target or "")
            if moved_to is None or moved_to.is_cdn or moved_to is network:
                raise WorldError(f"{network.id}: move_to {target!r} is not another provider")
    for first, second in index.ranges.overlaps():
        raise WorldError(
            f"ranges overlap: {first.holder.id} {first.network} and "
            f"{second.holder.id} {second.network}"
        )


def _check_domains(world: World, index: WorldIndex) -> None:
    for domain in world.domains:
        if domain.registrar not in index.registrars:
            raise WorldError(f"{domain.name}: unknown registrar {domain.registrar!r}")
        if domain.tld not in index.registries:
            raise WorldError(f"{domain.name}: no registry for .{domain.tld}")
        if domain.origin is not None:
            origin = index.networks.get(domain.origin)
            if origin is None or origin.is_cdn:
                raise WorldError(f"{domain.name}: origin {domain.origin!r} is not a provider")


def _check_names(index: WorldIndex) -> None:
    for name, records in index.records.items():
        for address in records.a + records.aaaa:
            if index.holder_of(address) is None:
                raise WorldError(f"{name}: address {address} is in no provider or CDN range")
        for address in records.a:
            if ipaddress.ip_address(address).version != 4:
                raise WorldError(f"{name}: A record {address} is not IPv4")
        for address in records.aaaa:
            if ipaddress.ip_address(address).version != 6:
                raise WorldError(f"{name}: AAAA record {address} is not IPv6")
        if records.cname is not None and not _resolves(index, name):
            raise WorldError(f"{name}: CNAME chain does not end at an address")


def _resolves(index: WorldIndex, name: str) -> bool:
    for _ in range(MAX_CNAME_CHAIN):
        records = index.records.get(name)
        if records is None:
            return False
        if records.cname is None:
            return bool(records.a or records.aaaa)
        name = records.cname
    return False
