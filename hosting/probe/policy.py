"""What the removal probe may connect to, and how it recognises a parked or suspended domain.

The probe must not become an open proxy into our own networks: a reported name that resolves
to loopback, a private range or a cloud metadata address (169.254.169.254) is refused, unless a
deployment allows that network explicitly (``TAKEDOWN_PROBE_ALLOWED_NETWORKS``, used for the
sandbox on loopback). The check is made on the very address the probe then connects to.

Parking is recognised without keeping any content: by a redirect to a host of a known parking
or suspension service, or by the domain's nameservers belonging to one (``data/parking.json``).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_JUDGED = 65536


class InvalidNetwork(ValueError):
    """An allowed network that is not in CIDR notation."""


def address_kind(address: IPAddress) -> str | None:
    """Why ``address`` is not a public unicast address (``loopback``, ``private`` …), or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # ::ffff:127.0.0.1 reaches 127.0.0.1; judge the IPv4 address it carries.
        return address_kind(address.ipv4_mapped)
    for kind, flag in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
    ):
        if flag:
            return kind
    if not address.is_global:
        return "non-public"
    return None


class AddressPolicy:
    """Decides whether the probe may connect to an address."""

    def __init__(self, allowed_networks: Iterable[str] = ()) -> None:
        networks: list[IPNetwork] = []
        for text in allowed_networks:
            try:
                networks.append(ipaddress.ip_network(text.strip(), strict=False))
            except ValueError:
                raise InvalidNetwork(f"'{text}' is not a network in CIDR notation") from None
        self.allowed_networks: tuple[IPNetwork, ...] = tuple(networks)
        self._judged: dict[str, str | None] = {}

    def refusal(self, address: str) -> str | None:
        """The reason the probe must not connect to ``address``, or None when it may."""
        # A batch meets the same few hundred addresses again and again.
        if address in self._judged:
            return self._judged[address]
        if len(self._judged) >= MAX_JUDGED:
            self._judged.clear()
        verdict = self._judge(address)
        self._judged[address] = verdict
        return verdict

    def _judge(self, address: str) -> str | None:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return f"'{address[:64]}' is not an IP address"
        kind = address_kind(ip)
        if kind is None:
            return None
        candidates = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            candidates.append(ip.ipv4_mapped)
        for network in self.allowed_networks:
            if any(c.version == network.version and c in network for c in candidates):
                return None
        return f"a {kind} address ({ip})"


def _matches(name: str, suffixes: Sequence[str]) -> str | None:
    name = name.lower().rstrip(".")
    for suffix in suffixes:
        if name == suffix or name.endswith("." + suffix):
            return suffix
    return None


@dataclass(frozen=True, slots=True)
class ParkingCatalogue:
    """Host and nameserver suffixes of parking and suspension services."""

    hosts: tuple[str, ...] = ()
    """A redirect to one of these (or a name under it) means the content is gone."""
    nameservers: tuple[str, ...] = ()
    """A domain delegated to one of these is parked or suspended."""

    @classmethod
    def load(cls, extra_files: Sequence[Path] = ()) -> ParkingCatalogue:
        """The shipped list, extended by any files of the same shape."""
        shipped = resources.files("hosting").joinpath("data", "parking.json").read_text("utf-8")
        texts = [shipped] + [path.read_text("utf-8") for path in extra_files]
        hosts: list[str] = []
        nameservers: list[str] = []
        for text in texts:
            data = json.loads(text)
            hosts += [str(h).lower().rstrip(".") for h in data.get("hosts", [])]
            nameservers += [str(n).lower().rstrip(".") for n in data.get("nameservers", [])]
        return cls(tuple(dict.fromkeys(hosts)), tuple(dict.fromkeys(nameservers)))

    def parking_host(self, host: str) -> str | None:
        """The listed suffix ``host`` falls under, or None."""
        return _matches(host, self.hosts)

    def parking_nameserver(self, nameservers: Iterable[str]) -> str | None:
        """The listed suffix the first matching nameserver falls under, or None."""
        for name in nameservers:
            found = _matches(name, self.nameservers)
            if found:
                return found
        return None
