"""Longest-prefix lookup of addresses in networks already traced, so that a second address in a
known range costs no query."""

from __future__ import annotations

import ipaddress
from typing import Generic, TypeVar

V = TypeVar("V")


class PrefixIndex(Generic[V]):
    """Maps CIDR prefixes to values; :meth:`lookup` finds the most specific covering prefix."""

    def __init__(self) -> None:
        # version -> prefix length -> network address as int -> value
        self._tables: dict[int, dict[int, dict[int, V]]] = {4: {}, 6: {}}

    def add(self, cidr: str, value: V) -> None:
        """Remember ``value`` for every address in ``cidr``."""
        network = ipaddress.ip_network(cidr, strict=False)
        table = self._tables[network.version].setdefault(network.prefixlen, {})
        table[int(network.network_address)] = value

    def lookup(self, address: str) -> V | None:
        """The value of the longest prefix covering ``address``, or None."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return None
        bits = ip.max_prefixlen
        tables = self._tables[ip.version]
        for length in sorted(tables, reverse=True):
            mask = ((1 << length) - 1) << (bits - length) if length else 0
            value = tables[length].get(int(ip) & mask)
            if value is not None:
                return value
        return None


def neighbourhood(address: str) -> str:
    """The /24 (IPv4) or /48 (IPv6) around ``address``: addresses that usually share a network,
    so their lookups are serialised and the second one is answered by the first."""
    ip = ipaddress.ip_address(address)
    length = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{length}", strict=False))


_V6_LENGTHS = (64, 56, 48, 44, 40, 36, 32, 29, 28, 24, 20, 19)


def covering_prefixes(address: str) -> list[str]:
    """Prefixes of the usual allocation sizes that contain ``address``, most specific first: the
    keys under which a cache shared between processes may already hold its network."""
    ip = ipaddress.ip_address(address)
    lengths = range(24, 7, -1) if ip.version == 4 else _V6_LENGTHS
    return [str(ipaddress.ip_network(f"{ip}/{n}", strict=False)) for n in lengths]
