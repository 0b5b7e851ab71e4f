"""Sign-in throttling: failed attempts per account and per client, shared by every process.

Failures are kept in the database (:mod:`registry.sign_in_failures`), so N web processes
enforce one limit, not N. The client is the address the connection came from, or, when that is
a trusted proxy (``TAKEDOWN_TRUSTED_PROXIES``), the address the proxies name in
``X-Forwarded-For``: read from the right, the first hop that is not itself a trusted proxy.
Without trusted proxies the header is ignored, since any client can write it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from registry.base import utcnow
from registry.db import unit_of_work
from registry.sign_in_failures import (
    SignInLimits,
    clear_failures,
    is_blocked,
    record_failure,
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_FORWARDED_HOPS = 20
"""Hops of X-Forwarded-For read at most; a longer header is cut to its last hops."""


@dataclass(frozen=True, slots=True)
class TrustedProxies:
    """The proxies whose ``X-Forwarded-For`` is believed."""

    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, cidrs: Sequence[str]) -> TrustedProxies:
        return cls(tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs))

    def trusts(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def client(self, peer: str, forwarded_for: str | None) -> str:
        """Who is asking: ``peer``, or the nearest untrusted hop its proxies name."""
        if not self.networks or not forwarded_for or not self.trusts(peer):
            return peer
        hops = [hop.strip() for hop in forwarded_for.split(",")][-MAX_FORWARDED_HOPS:]
        client = peer
        for hop in reversed(hops):
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                break  # garbage: believe nothing further left than the last good hop
            client = hop
            if not self.trusts(hop):
                break
        return client


class SignInThrottle:
    """Says whether to refuse a sign-in attempt outright, and counts the failures."""

    def __init__(self, engine: Engine, limits: SignInLimits | None = None) -> None:
        self.engine = engine
        self.limits = limits or SignInLimits()

    def blocked(self, user: str, address: str) -> bool:
        """True when either the account or the client has failed too often lately."""
        with unit_of_work(self.engine) as session:
            return is_blocked(session, user, address, self.limits, now=utcnow())

    def failed(self, user: str, address: str) -> None:
        with unit_of_work(self.engine) as session:
            record_failure(session, user, address, self.limits, now=utcnow())

    def succeeded(self, user: str) -> None:
        with unit_of_work(self.engine) as session:
            clear_failures(session, user)


__all__ = ["SignInLimits", "SignInThrottle", "TrustedProxies"]
