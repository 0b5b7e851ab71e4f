"""RDAP client: asks the server the bootstrap names, politely and with hard limits.

httpx does the HTTP (hand in a client built on any transport; tests use a loopback server). Every
answer is read as a stream and cut at the size cap, so a hostile server cannot make us hold a
gigabyte; 429 becomes :class:`RateLimited` carrying Retry-After, and retries back off with jitter.

Redirects are followed here, not by httpx: a redirect is registry data, so its target must be an
origin the bootstrap (the operator's configuration) names, or an address the probe's
:class:`~hosting.common.reach.AddressPolicy` accepts, fetched at that very address. A refused one
is never connected to (:class:`~hosting.common.errors.RefusedTarget`).
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import httpx

from hosting.common.errors import (
    HostingError,
    InvalidQuery,
    MalformedAnswer,
    NotFound,
    QueryRefused,
    RateLimited,
    RefusedTarget,
    SourceTimeout,
    TransportFailure,
)
from hosting.common.evidence import Evidence
from hosting.common.limits import Limits
from hosting.common.politeness import Admission, ServerGates, with_retries
from hosting.common.reach import AddressPolicy
from hosting.rdap.bootstrap import IANA_BOOTSTRAP_BASE, RdapBootstrap

ACCEPT = "application/rdap+json, application/json;q=0.9"
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _origin(url: str) -> tuple[str, str, int] | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    return parts.scheme, parts.hostname.lower(), port


def _redirect_target(current: str, location: str) -> str:
    target = urljoin(current, location.strip())
    if _origin(target) is None:
        raise RefusedTarget("RDAP redirect to something other than an http(s) URL")
    return target


@dataclass(frozen=True, slots=True)
class RdapAnswer:
    """A decoded RDAP object and the evidence of how it was obtained."""

    url: str
    server: str
    data: dict[str, Any]
    evidence: Evidence


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), or None."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class RdapClient:
    """Looks up domains, addresses and AS numbers over RDAP, through one httpx client or a few
    (small connection pools: each request goes to the least busy)."""

    def __init__(
        self,
        http: httpx.AsyncClient | Sequence[httpx.AsyncClient],
        bootstrap: RdapBootstrap,
        limits: Limits | None = None,
        gates: ServerGates | None = None,
        bootstrap_base: str = IANA_BOOTSTRAP_BASE,
        policy: AddressPolicy | None = None,
    ) -> None:
        self._pools = [http] if isinstance(http, httpx.AsyncClient) else list(http)
        if not self._pools:
            raise ValueError("RdapClient needs at least one HTTP client")
        self._busy = [0] * len(self._pools)
        self._bootstrap_base = bootstrap_base
        self.bootstrap = bootstrap
        self._limits = limits or Limits()
        self._gates = gates or ServerGates(self._limits)
        self._policy = policy or AddressPolicy()
        self._origins: frozenset[tuple[str, str, int]] = frozenset()
        self._origins_of: RdapBootstrap | None = None

    async def domain(self, name: str) -> RdapAnswer:
        """The RDAP domain object of ``name`` from its TLD's registry."""
        return await self._lookup(self.bootstrap.for_domain(name), f"domain/{quote(name)}")

    async def ip(self, address: str) -> RdapAnswer:
        """The RDAP ip network object covering ``address``.

        The address goes into the path as is (RFC 9082 3.1.1: ``ip/2001:db8::1``): a server that
        follows the RFC literally does not decode percent-encoded colons."""
        try:
            canonical = ipaddress.ip_address(address).compressed
        except ValueError:
            raise InvalidQuery("not an IP address") from None
        return await self._lookup(self.bootstrap.for_address(canonical), f"ip/{canonical}")

    async def autnum(self, asn: int) -> RdapAnswer:
        """The RDAP autnum object of AS ``asn``."""
        return await self._lookup(self.bootstrap.for_asn(asn), f"autnum/{asn}")

    async def fetch_bootstrap_file(self, name: str) -> bytes:
        """One IANA bootstrap registry file: the refresh hook of :class:`RdapBootstrap`."""
        body, _, cut = await self._get(self._bootstrap_base + name)
        if cut:
            raise MalformedAnswer("bootstrap file exceeds the size cap")
        return body

    async def _lookup(self, bases: list[str], path: str) -> RdapAnswer:
        url = bases[0] + path
        return await with_retries(lambda: self._fetch(url, path), self._limits.retry)

    async def _fetch(self, url: str, query: str) -> RdapAnswer:
        body, final_url, cut = await self._get(url)
        server = urlsplit(final_url).hostname or final_url
        evidence = Evidence.capture(
            "rdap", server, query, body, cap=self._limits.caps.evidence_bytes, cut_in_transit=cut
        )
        if cut:
            raise MalformedAnswer(f"RDAP answer from {server} exceeds the size cap")
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise MalformedAnswer(f"RDAP answer from {server} is not JSON") from None
        if not isinstance(data, dict):
            raise MalformedAnswer(f"RDAP answer from {server} is not a JSON object")
        return RdapAnswer(final_url, server, data, evidence)

    def _gate(self, target: str, name: str) -> Admission:
        """The gates of the server ``target`` lands on (its host, or the address a redirect was
        pinned to, and port), known as ``name`` too."""
        parts = urlsplit(target)
        host = (parts.hostname or "").lower()
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return self._gates.admission(host, port, name=name)

    async def _get(self, url: str) -> tuple[bytes, str, bool]:
        """The body at ``url`` (following vetted redirects), the URL it came from, and whether
        it was cut at the size cap.

        Each hop waits for the gate of the server it lands on, and holds it only for that
        hop. The RDAP timeout bounds the time spent with servers (and vetting redirect
        targets), not the waits for a gate: a redirect to a busy server is not a slow answer."""
        current = url
        target, headers = current, {"Accept": ACCEPT}
        extensions: dict[str, Any] = {}
        limit = self._limits.timeouts.rdap
        left = limit
        loop = asyncio.get_running_loop()
        try:
            for _ in range(MAX_REDIRECTS + 1):
                name = (urlsplit(current).hostname or "").lower()
                async with self._gate(target, name):
                    began = loop.time()
                    try:
                        async with asyncio.timeout(left):
                            location = await self._hop(target, headers, extensions)
                    finally:
                        left -= loop.time() - began
                if isinstance(location, tuple):
                    return location[0], current, location[1]
                began = loop.time()
                async with asyncio.timeout(left):
                    current = _redirect_target(current, location)
                    target, headers, extensions = await self._pinned(current)
                left -= loop.time() - began
            raise TransportFailure(f"RDAP: more than {MAX_REDIRECTS} redirects")
        except TimeoutError:
            raise SourceTimeout(f"RDAP server did not answer within {limit}s") from None
        except httpx.TimeoutException:
            raise SourceTimeout("RDAP request timed out") from None
        except httpx.HTTPError as exc:
            raise TransportFailure(f"RDAP request failed: {type(exc).__name__}") from None

    async def _hop(
        self, target: str, headers: dict[str, str], extensions: dict[str, Any]
    ) -> str | tuple[bytes, bool]:
        """One request: the redirect's Location, or the body and whether it was cut."""
        cap = self._limits.caps.rdap_bytes
        # The least busy pool takes the request: each pool's connections stay few, and httpx
        # looks through all of a pool's connections on every request and every response.
        busy = self._busy
        chosen = busy.index(min(busy))
        busy[chosen] += 1
        try:
            async with self._pools[chosen].stream(
                "GET", target, headers=headers, extensions=extensions, follow_redirects=False
            ) as response:
                location = response.headers.get("Location")
                if response.status_code in _REDIRECTS and location:
                    return str(location)
                self._check_status(response)
                chunks, size, cut = [], 0, False
                async for chunk in response.aiter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > cap:
                        cut = True
                        break
                return b"".join(chunks)[:cap], cut
        finally:
            busy[chosen] -= 1

    async def _pinned(self, url: str) -> tuple[str, dict[str, str], dict[str, Any]]:
        """How to fetch a redirect target: as is when the bootstrap (configuration) names its
        origin, else at the one address the policy accepted, with the name kept for the Host
        header and TLS."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if (parts.scheme, host, port) in self._trusted_origins():
            return url, {"Accept": ACCEPT}, {}
        address = await self._policy.vetted_address(host, port, f"RDAP redirect to {host[:100]}")
        shown = f"[{address}]" if ":" in address else address
        pinned = urlunsplit(parts._replace(netloc=f"{shown}:{port}"))
        headers = {"Accept": ACCEPT, "Host": parts.netloc.rpartition("@")[2]}
        extensions: dict[str, Any] = {"sni_hostname": host} if parts.scheme == "https" else {}
        return pinned, headers, extensions

    def _trusted_origins(self) -> frozenset[tuple[str, str, int]]:
        if self._origins_of is not self.bootstrap:
            bases = [*self.bootstrap.base_urls(), self._bootstrap_base]
            self._origins = frozenset(o for o in map(_origin, bases) if o is not None)
            self._origins_of = self.bootstrap
        return self._origins

    @staticmethod
    def _check_status(response: httpx.Response) -> None:
        status = response.status_code
        if status == 200:
            return
        if status == 404:
            raise NotFound("RDAP server has no such object")
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise RateLimited("RDAP server rate-limited us", retry_after)
        if status in (502, 503, 504):
            raise TransportFailure(f"RDAP server unavailable (HTTP {status})")
        if status in (401, 403):
            raise QueryRefused(f"RDAP server refused the query (HTTP {status})")
        raise HostingError(f"RDAP server answered HTTP {status}")
