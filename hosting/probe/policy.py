"""What the removal probe may connect to, and how it recognises a parked or suspended domain.

The probe must not become an open proxy into our own networks: a reported name that resolves
to loopback, a private range or a cloud metadata address (169.254.169.254) is refused, unless a
deployment allows that network explicitly (``TAKEDOWN_PROBE_ALLOWED_NETWORKS``, used for the
sandbox on loopback). The check is made on the very address the probe then connects to. The
policy lives in :mod:`hosting.common.reach`: WHOIS referrals and RDAP redirects obey the same.

Parking is recognised without keeping any content: by a redirect to a host of a known parking
or suspension service, or by the domain's nameservers belonging to one (``data/parking.json``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from hosting.common.reach import AddressPolicy, InvalidNetwork, address_kind

__all__ = [
    "AddressPolicy",
    "InvalidNetwork",
    "ParkingCatalogue",
    "address_kind",
]


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
