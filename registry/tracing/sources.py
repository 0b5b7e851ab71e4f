"""Where a trace asks its questions: the ``TAKEDOWN_*`` source settings turned into a resolver.

Politeness limits exist to protect public registries. A server on this machine (loopback: a
local mirror, a resolver, the sandbox) is ours to load, so it gets :data:`LOCAL_SERVER`
instead of the public default; every other server keeps the limits of :mod:`hosting.common.limits`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from hosting.trace import (
    KNOWN_SERVER_POLICIES,
    HostingResolver,
    Limits,
    RateLimit,
    ResolutionCache,
    ServerPolicy,
    open_resolver,
)

LOCAL_SERVER = ServerPolicy(concurrency=64, rate=RateLimit(100_000, 1, burst=10_000))
"""Politeness towards a server on loopback: only a sanity bound."""
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


class SourceSettings(Protocol):
    """The settings a trace reads (``settings.Settings`` has them)."""

    @property
    def dns_nameservers(self) -> list[str]: ...

    @property
    def whois_servers(self) -> dict[str, str]: ...

    @property
    def rdap_bootstrap_dir(self) -> Path | None: ...

    @property
    def probe_allowed_networks(self) -> list[str]: ...


def _is_loopback(address: str) -> bool:
    """True when ``host[:port]`` (``[v6]:port`` for IPv6) names this machine."""
    if address.startswith("["):
        host = address[1 : address.find("]")]
    else:
        host = address.rpartition(":")[0] if address.count(":") == 1 else address
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class TraceSources:
    """Everything needed to open a resolver: plain values, so a flow task can rebuild it."""

    dns_nameservers: str | None = None
    """``host[:port]``, comma-separated; None: the system's resolvers."""
    whois_servers: str | None = None
    """``name=host:port``, comma-separated overrides."""
    rdap_bootstrap_dir: str | None = None
    cdn_files: tuple[Path, ...] = ()
    limits: Limits = field(default_factory=Limits)
    allowed_networks: tuple[str, ...] = ()
    """Networks a WHOIS referral or RDAP redirect may reach although not public."""

    @classmethod
    def from_settings(
        cls, settings: SourceSettings, *, limits: Limits | None = None
    ) -> TraceSources:
        """The sources the settings name, with loopback servers relieved of politeness."""
        whois = dict(settings.whois_servers)
        chosen = limits or Limits()
        local = {name: LOCAL_SERVER for name in LOOPBACK_NAMES}
        local.update({name: LOCAL_SERVER for name, where in whois.items() if _is_loopback(where)})
        servers: Mapping[str, ServerPolicy] = {**KNOWN_SERVER_POLICIES, **chosen.servers, **local}
        return cls(
            dns_nameservers=",".join(settings.dns_nameservers) or None,
            whois_servers=",".join(f"{name}={where}" for name, where in whois.items()) or None,
            rdap_bootstrap_dir=(
                str(settings.rdap_bootstrap_dir) if settings.rdap_bootstrap_dir else None
            ),
            limits=replace(chosen, servers=servers),
            allowed_networks=tuple(settings.probe_allowed_networks),
        )

    def with_limits(self, limits: Limits) -> TraceSources:
        """The same sources under other limits (the loopback relief is kept)."""
        servers = {**limits.servers}
        servers.update({k: v for k, v in self.limits.servers.items() if v is LOCAL_SERVER})
        return replace(self, limits=replace(limits, servers=servers))

    def with_cdn_files(self, files: Sequence[Path]) -> TraceSources:
        """The same sources with CDN catalogue files added to the shipped one."""
        return replace(self, cdn_files=(*self.cdn_files, *files))

    @asynccontextmanager
    async def open(self, cache: ResolutionCache | None = None) -> AsyncIterator[HostingResolver]:
        """A resolver over these sources, sharing ``cache``; closed on exit."""
        async with open_resolver(
            dns_nameservers=self.dns_nameservers,
            whois_servers=self.whois_servers,
            rdap_bootstrap_dir=self.rdap_bootstrap_dir,
            cache=cache,
            limits=self.limits,
            cdn_files=self.cdn_files,
            allowed_networks=self.allowed_networks,
        ) as resolver:
            yield resolver
