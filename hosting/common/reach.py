"""Which addresses a connection chosen by registry data, or by a reported URL, may reach.

Registry data is hostile input, and so is a reported name. A WHOIS referral (``ReferralServer:
whois://127.0.0.2:16379``), an RDAP redirect, or a reported name that resolves into our own
networks must not turn the tracer or the probe into a proxy: loopback, private, link-local,
multicast, reserved and other non-public addresses are refused unless a deployment allows the
network explicitly (``TAKEDOWN_PROBE_ALLOWED_NETWORKS``; the sandbox on loopback needs it). The
check is made on the very address that is then connected to, never on a name that could resolve
differently a moment later. What the operator configured (WHOIS overrides, the RDAP bootstrap,
the resolvers, the SMTP relay) is trusted as configured and does not pass through here.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable

from hosting.common.errors import RefusedTarget, TransportFailure

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_JUDGED = 65536
MAX_RESOLVED = 16


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
    """Decides whether a connection chosen by hostile data may go to an address."""

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
        """The reason no connection may go to ``address``, or None when one may."""
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

    async def vetted_address(self, host: str, port: int, purpose: str) -> str:
        """The address to connect to for ``host``: resolved once, judged, and returned so the
        caller connects to exactly that address. Raises :class:`RefusedTarget` naming the
        refused address (nothing is connected to), or TransportFailure when ``host`` does not
        resolve."""
        bare = host.strip("[]")
        try:
            candidates = [str(ipaddress.ip_address(bare))]
        except ValueError:
            candidates = await _resolve(bare, port, purpose)
        refusals = []
        for address in candidates:
            reason = self.refusal(address)
            if reason is None:
                return address
            refusals.append(reason)
        where = f"{bare[:100]}:{port}"
        raise RefusedTarget(f"refused to connect to {where} ({purpose}): {'; '.join(refusals)}")


async def _resolve(host: str, port: int, purpose: str) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise TransportFailure(f"{purpose}: {host[:100]} does not resolve") from None
    found = list(dict.fromkeys(str(info[4][0]) for info in infos))[:MAX_RESOLVED]
    if not found:
        raise TransportFailure(f"{purpose}: {host[:100]} has no address")
    return found
