"""Timeouts, size caps, rate limits and retry policy, as explicit objects with defaults.

Registries ban clients that hammer them (LACNIC allows about ten RDAP queries a minute), and a
hostile server can trickle bytes forever. Every number that protects us or them lives here, and a
deployment overrides it by building its own :class:`Limits`.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class SourceTimeouts:
    """Hard wall-clock limits, in seconds, for one query to each kind of source."""

    dns: float = 5.0
    rdap: float = 15.0
    whois: float = 15.0


@dataclass(frozen=True, slots=True)
class SizeCaps:
    """Most bytes read from one answer, and most bytes of it kept as evidence."""

    rdap_bytes: int = 2 * 1024 * 1024
    whois_bytes: int = 256 * 1024
    evidence_bytes: int = 64 * 1024
    parse_chars: int = 128 * 1024
    """WHOIS text handed to the (regex-heavy) parsers is cut to this many characters."""


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``queries`` per ``per_seconds`` to one server, with bursts up to ``burst``."""

    queries: float = 60.0
    per_seconds: float = 60.0
    burst: int = 10

    @property
    def per_second(self) -> float:
        """Sustained queries per second this limit allows."""
        return self.queries / self.per_seconds


@dataclass(frozen=True, slots=True)
class ServerPolicy:
    """Politeness towards one server: how many queries at once, and how often."""

    concurrency: int = 4
    rate: RateLimit = field(default_factory=RateLimit)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries with exponential backoff and jitter, for timeouts, refusals to hurry and resets."""

    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: float = 0.5
    """Fraction of each delay that is randomised, so many clients do not retry in step."""
    max_retry_after: float = 120.0
    """A server's Retry-After longer than this is not waited for: the attempt fails instead."""

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float | None:
        """Seconds to wait before attempt ``attempt + 1`` (attempts count from 1), or None to
        give up."""
        if attempt >= self.attempts:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        backoff = min(self.max_delay, self.base_delay * float(1 << (attempt - 1)))
        spread: float = rng.random()
        return backoff * (1 - self.jitter) + backoff * self.jitter * spread


@dataclass(frozen=True, slots=True)
class CacheTtls:
    """How long answers stay fresh, in seconds; failures only briefly, so a blip heals."""

    dns: float = 300.0
    network: float = 24 * 3600.0
    registrar: float = 24 * 3600.0
    referral: float = 7 * 24 * 3600.0
    negative: float = 300.0


KNOWN_SERVER_POLICIES: Mapping[str, ServerPolicy] = MappingProxyType(
    {
        # LACNIC documents about 10 RDAP queries a minute per client; its WHOIS is as strict.
        "rdap.lacnic.net": ServerPolicy(concurrency=1, rate=RateLimit(10, 60, burst=2)),
        "whois.lacnic.net": ServerPolicy(concurrency=1, rate=RateLimit(10, 60, burst=2)),
        # RIPE and ARIN tolerate more but block on bursts of WHOIS connections.
        "whois.ripe.net": ServerPolicy(concurrency=2, rate=RateLimit(60, 60, burst=5)),
        "whois.arin.net": ServerPolicy(concurrency=2, rate=RateLimit(60, 60, burst=5)),
        "whois.iana.org": ServerPolicy(concurrency=2, rate=RateLimit(30, 60, burst=5)),
    }
)


@dataclass(frozen=True, slots=True)
class Limits:
    """Every limit the hosting clients obey; build one to override any default."""

    timeouts: SourceTimeouts = field(default_factory=SourceTimeouts)
    caps: SizeCaps = field(default_factory=SizeCaps)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    ttls: CacheTtls = field(default_factory=CacheTtls)
    default_server: ServerPolicy = field(default_factory=ServerPolicy)
    servers: Mapping[str, ServerPolicy] = field(default_factory=lambda: KNOWN_SERVER_POLICIES)
    """Per-server overrides keyed by host name (lower case)."""
    batch_concurrency: int = 256
    """Hosts traced at once in a batch (every URL of a host shares its trace). A host waiting
    for a server's gate holds nothing but its place in the queue, so this can be well above
    any server's cap: the gates, not this number, keep the servers within their limits."""
    dns_concurrency: int = 64
    """DNS queries in flight at once from one resolver, all its nameservers together (A and
    AAAA count as two); no nameserver ever has more of ours to answer."""
    whois_max_referrals: int = 3
    rdap_pools: int = 16
    """HTTP connection pools for RDAP, each request going to the least busy (httpx looks
    through every connection of a pool on each request, so a few small pools cost less than
    one large one)."""
    rdap_pool_connections: int = 4
    """Connections each RDAP pool keeps open at most (a request beyond them waits inside its
    pool); the server gates bound what is in flight."""

    def for_server(self, host: str) -> ServerPolicy:
        """The policy for ``host``: its override if any, else the default."""
        return self.servers.get(host.lower(), self.default_server)
