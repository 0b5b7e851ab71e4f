"""The removal probe: is a reported URL's content still served, as a browser would reach it?

    prober = build_prober(dns_nameservers=..., allowed_networks=..., user_agent=...)
    result = await prober.probe(url, expected_sha256=digest)
    results = await prober.probe_many([(url, digest), ...])

Every hop (the URL, then each redirect, at most ``ProbeLimits.max_redirects``) is resolved, its
address checked by the :class:`~hosting.probe.policy.AddressPolicy`, and that address connected
to with the name in the Host header, so DNS rebinding cannot swap in another address. A hard
deadline covers the whole probe. The body is hashed and discarded (:mod:`hosting.probe.fetch`).

Outcomes (:class:`ProbeOutcome`):
- ``present``: a 2xx body with the confirmed digest, or any 2xx body when no digest is known;
- ``changed``: a 2xx body with another digest (or too big to hash): an analyst must look;
- ``removed``: NXDOMAIN, no address records, 404, 410, 451, or a parked/suspended domain;
- ``unreachable``: timeouts, refused connections, TLS failures, 5xx, other 4xx: inconclusive;
- ``blocked``: the name (or a redirect) leads only to addresses the policy refuses.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence
from urllib.parse import urljoin

from hosting.common.slots import Slots
from hosting.dns.addresses import ProbeResolver
from hosting.dns.lookups import DnsStatus
from hosting.probe.fetch import (
    REDIRECT_STATUSES,
    ClosedWithoutAnswer,
    Connector,
    Exchange,
    ProtocolViolation,
    TcpConnector,
    exchange,
)
from hosting.probe.gates import AddressCache, AddressResolver, HostGates
from hosting.probe.outcome import (
    ProbeLimits,
    ProbeOutcome,
    ProbeResult,
    Trail,
    connect_reason,
)
from hosting.probe.policy import AddressPolicy, ParkingCatalogue
from hosting.probe.pool import Connection, ConnectionPool
from urls.normalise import DEFAULT_PORTS, InvalidURL, NormalisedURL, normalise_url
from urls.suffixes import registrable_domain

REMOVED_STATUSES = frozenset({404, 410, 451})

__all__ = ["ProbeLimits", "ProbeOutcome", "ProbeResult", "Prober", "build_prober"]


class Prober:
    """Probes URLs under an address policy, with per-host and global concurrency limits."""

    def __init__(
        self,
        resolver: AddressResolver,
        *,
        policy: AddressPolicy,
        user_agent: str,
        limits: ProbeLimits | None = None,
        connector: Connector | None = None,
        parking: ParkingCatalogue | None = None,
    ) -> None:
        self.limits = limits or ProbeLimits()
        self.policy = policy
        self.user_agent = user_agent
        self.connector: Connector = connector or TcpConnector()
        self.parking = parking if parking is not None else ParkingCatalogue.load()
        self._dns = AddressCache(
            resolver, self.limits.dns_cache_seconds, in_flight=self.limits.dns_in_flight
        )
        self._pool = ConnectionPool(self.connector)
        self._global = Slots(self.limits.concurrency)
        self._hosts = HostGates(self.limits.per_host)

    async def __aenter__(self) -> Prober:
        return self

    async def __aexit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Drop the idle keep-alive connections; the prober can still be used afterwards."""
        self._pool.close()

    async def probe(self, url: str, expected_sha256: str | None = None) -> ProbeResult:
        """Probe ``url``; :class:`~urls.normalise.InvalidURL` for a URL that is not http(s)."""
        target = normalise_url(url)
        trail = Trail(target.url)
        async with self._global:
            try:
                async with asyncio.timeout(self.limits.timeout):
                    return await self._follow(target, expected_sha256, trail)
            except TimeoutError:
                return trail.result(
                    ProbeOutcome.UNREACHABLE,
                    f"no complete answer within {self.limits.timeout:g} s",
                )

    async def probe_many(self, items: Sequence[tuple[str, str | None]]) -> list[ProbeResult]:
        """Probe every (url, expected digest) of a batch concurrently; results in input order.

        A URL that does not parse gets an ``unreachable`` result instead of stopping the batch.
        """

        async def one(url: str, expected: str | None) -> ProbeResult:
            try:
                return await self.probe(url, expected)
            except InvalidURL as exc:
                return ProbeResult(url, ProbeOutcome.UNREACHABLE, error=f"invalid URL: {exc}")

        return list(await asyncio.gather(*(one(url, digest) for url, digest in items)))

    async def _follow(
        self, target: NormalisedURL, expected: str | None, trail: Trail
    ) -> ProbeResult:
        current = target
        for hop in range(self.limits.max_redirects + 1):
            if hop and (suffix := self.parking.parking_host(current.host)):
                return trail.result(
                    ProbeOutcome.REMOVED, f"redirected to a parking host ({suffix})"
                )
            addresses, failure = await self._addresses(current, trail)
            if failure is not None:
                return failure
            answer = await self._fetch(current, addresses, trail)
            if isinstance(answer, ProbeResult):
                return answer
            if hop == 0:
                trail.origin_address = trail.address
            trail.status = answer.status
            if answer.status not in REDIRECT_STATUSES:
                return await self._judge(target, answer, expected, trail)
            if answer.location is None:
                return trail.result(ProbeOutcome.UNREACHABLE, "redirect without a Location")
            if hop == self.limits.max_redirects:
                break
            try:
                current = normalise_url(urljoin(current.url, answer.location))
            except InvalidURL:
                return trail.result(
                    ProbeOutcome.UNREACHABLE, "redirect to a URL that is not http(s)"
                )
            trail.redirects += 1
        return trail.result(
            ProbeOutcome.UNREACHABLE, f"more than {self.limits.max_redirects} redirects"
        )

    async def _addresses(
        self, url: NormalisedURL, trail: Trail
    ) -> tuple[list[str], ProbeResult | None]:
        """The addresses of ``url``'s host the policy lets the probe connect to, or the result."""
        if url.is_ip_literal:
            candidates = [url.host]
        else:
            answer = await self._dns.resolve(url.host)
            if answer.status in (DnsStatus.NXDOMAIN, DnsStatus.NO_ANSWER):
                reason = "NXDOMAIN" if answer.status is DnsStatus.NXDOMAIN else "no address records"
                return [], trail.result(ProbeOutcome.REMOVED, f"DNS: {reason}")
            if not answer.addresses:
                return [], trail.result(ProbeOutcome.UNREACHABLE, f"DNS: {answer.status.value}")
            # IPv4 first: the probe reaches what most browsers on most networks reach.
            candidates = sorted(answer.addresses, key=lambda a: ":" in a)
        allowed = [a for a in candidates if self.policy.refusal(a) is None]
        if not allowed:
            refusal = self.policy.refusal(candidates[0])
            hop = "a redirect leads to" if trail.redirects else "the host resolves to"
            return [], trail.result(ProbeOutcome.BLOCKED, f"not probed: {hop} {refusal}")
        return allowed, None

    async def _fetch(
        self, url: NormalisedURL, addresses: list[str], trail: Trail
    ) -> Exchange | ProbeResult:
        port = url.port or DEFAULT_PORTS[url.scheme]
        server_name = url.host if url.scheme == "https" else None
        host_header = url.host if ":" not in url.host else f"[{url.host}]"
        if url.port is not None:
            host_header += f":{url.port}"
        reason = "no address to try"
        await self._hosts.acquire(url.host)
        try:
            for address in addresses[: self.limits.connect_attempts]:
                trail.address = address
                # A kept-alive connection the server has closed meanwhile earns one fresh try.
                for _ in range(2):
                    try:
                        connection = await self._pool.connect(address, port, server_name)
                    except (OSError, ssl.SSLError) as exc:
                        reason = connect_reason(exc)
                        break
                    answer = await self._exchange(connection, url.path_and_query, host_header)
                    if answer is not None:
                        return answer if isinstance(answer, Exchange) else trail.result(*answer)
        finally:
            self._hosts.release(url.host)
        return trail.result(ProbeOutcome.UNREACHABLE, reason)

    async def _exchange(
        self, connection: Connection, target: str, host_header: str
    ) -> Exchange | tuple[ProbeOutcome, str] | None:
        """The answer on ``connection``, a failure, or None when a reused one had gone stale."""
        answer: Exchange | None = None
        try:
            answer = await exchange(
                connection.reader,
                connection.writer,
                target=target,
                host_header=host_header,
                user_agent=self.user_agent,
                max_bytes=self.limits.max_bytes,
                keep_alive=True,
            )
        except (ClosedWithoutAnswer, ConnectionResetError, BrokenPipeError) as exc:
            if connection.reused:
                return None
            return ProbeOutcome.UNREACHABLE, (
                str(exc) if isinstance(exc, ProtocolViolation) else connect_reason(exc)
            )
        except ProtocolViolation as exc:
            return ProbeOutcome.UNREACHABLE, str(exc)
        except (OSError, ssl.SSLError) as exc:
            return ProbeOutcome.UNREACHABLE, connect_reason(exc)
        finally:
            # Kept only after a whole answer; dropped on failure or cancellation (the deadline).
            if answer is None:
                connection.abort()
            else:
                self._pool.release(connection, answer.reusable)
        return answer

    async def _judge(
        self, target: NormalisedURL, answer: Exchange, expected: str | None, trail: Trail
    ) -> ProbeResult:
        status = answer.status
        if status in REMOVED_STATUSES:
            return trail.result(ProbeOutcome.REMOVED, f"HTTP {status}")
        if not 200 <= status < 300:
            return trail.result(ProbeOutcome.UNREACHABLE, f"HTTP {status}")
        sha, size = answer.sha256, answer.bytes_read
        if expected is not None and sha == expected.lower():
            return trail.result(ProbeOutcome.PRESENT, sha256=sha, bytes_read=size)
        # Content that is not the confirmed item may be a parking or suspension page.
        parked = await self._parked_by(target)
        if parked is not None:
            return trail.result(
                ProbeOutcome.REMOVED, f"domain is parked ({parked})", sha256=sha, bytes_read=size
            )
        if answer.capped:
            error = f"body larger than {self.limits.max_bytes} bytes; not hashed"
            outcome = ProbeOutcome.CHANGED if expected is not None else ProbeOutcome.PRESENT
            return trail.result(outcome, error, sha256=sha, bytes_read=size)
        if expected is None:
            return trail.result(ProbeOutcome.PRESENT, sha256=sha, bytes_read=size)
        return trail.result(
            ProbeOutcome.CHANGED, "served content has another digest", sha256=sha, bytes_read=size
        )

    async def _parked_by(self, target: NormalisedURL) -> str | None:
        if target.is_ip_literal or not self.parking.nameservers:
            return None
        domain = registrable_domain(target.host)
        if domain is None:
            return None
        return self.parking.parking_nameserver(await self._dns.nameservers(domain))


def build_prober(
    *,
    dns_nameservers: str | Sequence[str] | None = None,
    allowed_networks: Sequence[str] = (),
    user_agent: str,
    limits: ProbeLimits | None = None,
    resolver: AddressResolver | None = None,
    connector: Connector | None = None,
    parking: ParkingCatalogue | None = None,
) -> Prober:
    """A prober wired from the ``TAKEDOWN_*`` settings' values; clients may be handed in."""
    chosen = limits or ProbeLimits()
    if resolver is None:
        setting = (
            dns_nameservers
            if isinstance(dns_nameservers, str | None)
            else ",".join(dns_nameservers)
        )
        resolver = ProbeResolver.from_setting(setting)
    return Prober(
        resolver,
        policy=AddressPolicy(allowed_networks),
        user_agent=user_agent,
        limits=chosen,
        connector=connector,
        parking=parking,
    )
