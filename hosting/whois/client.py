"""Port-43 WHOIS: an asyncio transport with hard limits, and the referral walk.

For a domain: IANA (asked for the TLD only) names the registry, a thin registry names the
registrar's server. For an address: IANA or the configured first server names the RIR, whose
``ReferralServer: whois://`` may name another. ``TAKEDOWN_WHOIS_SERVERS`` overrides any step:
``bz=host:port`` (a TLD's registry), ``ip=host:port`` (the first address query),
``whois.registrar.example=host:port`` (where referrals to that name really go).

A referral is registry data, so hostile: unless an override names its server, the address it
resolves to is judged by the :class:`~hosting.common.reach.AddressPolicy` (the probe's) and a
refused one is never connected to (:class:`~hosting.common.errors.RefusedTarget`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from hosting.common.errors import (
    HostingError,
    InvalidQuery,
    NotFound,
    QueryRefused,
    RateLimited,
    SourceTimeout,
    TransportFailure,
)
from hosting.common.evidence import Evidence
from hosting.common.limits import Limits
from hosting.common.politeness import ServerGates, with_retries
from hosting.common.reach import AddressPolicy
from hosting.whois.parse import find_referral, is_no_match, refusal

IANA_WHOIS = "whois.iana.org"
_SAFE_QUERY = re.compile(r"^[A-Za-z0-9.:+ _-]{1,300}$")


@dataclass(frozen=True, slots=True)
class WhoisServer:
    """A WHOIS server by the name registries use for it, and where we actually connect."""

    name: str
    host: str
    port: int = 43
    trusted: bool = True
    """False when registry data chose it (a referral the overrides do not name): then the
    address policy judges the address actually connected to."""


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.strip().rpartition(":") if ":" in text else (text.strip(), "", "43")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected host:port, got {text!r}")
    return host.strip("[]"), int(port)


@dataclass(frozen=True, slots=True)
class WhoisOverrides:
    """The parsed ``TAKEDOWN_WHOIS_SERVERS`` setting."""

    tlds: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    first_ip: tuple[str, int] | None = None
    named: Mapping[str, tuple[str, int]] = field(default_factory=dict)

    @classmethod
    def parse(cls, setting: str | None) -> WhoisOverrides:
        """Read ``key=host:port`` entries; a key with a dot is a server name, ``ip`` the first
        address query, anything else a TLD. Raises ValueError on a malformed entry."""
        tlds: dict[str, tuple[str, int]] = {}
        named: dict[str, tuple[str, int]] = {}
        first_ip = None
        for entry in (setting or "").split(","):
            if not entry.strip():
                continue
            key, sep, value = entry.partition("=")
            if not sep:
                raise ValueError(f"expected key=host:port, got {entry.strip()!r}")
            key = key.strip().lower().strip(".")
            target = _host_port(value)
            if key == "ip":
                first_ip = target
            elif "." in key:
                named[key] = target
            else:
                tlds[key] = target
        return cls(tlds, first_ip, named)

    def server(self, name: str, port: int = 43, *, referred: bool = True) -> WhoisServer:
        """Where to connect for the server registries call ``name``: the override when one
        names it (trusted as configured), else ``name`` itself, judged by the address policy
        when an answer ``referred`` us there."""
        key = name.lower()
        if key in self.named:
            host, real_port = self.named[key]
            return WhoisServer(key, host, real_port)
        return WhoisServer(key, name, port, trusted=not referred)


@dataclass(frozen=True, slots=True)
class WhoisAnswer:
    """One server's answer to one query."""

    server: str
    query: str
    text: str
    evidence: Evidence


@dataclass(slots=True)
class WhoisChain:
    """The answers of a referral walk, first to last, and why it stopped early if it did."""

    answers: list[WhoisAnswer] = field(default_factory=list)
    failures: list[HostingError] = field(default_factory=list)


def decode_whois(raw: bytes) -> str:
    """WHOIS bytes as text: UTF-8 when valid, else Latin-1 (which never fails); NULs dropped."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text.replace("\x00", "")


class WhoisTransport:
    """Sends one query over TCP and reads until the server closes, the byte cap or the hard
    timeout, whichever comes first."""

    def __init__(self, limits: Limits | None = None) -> None:
        self._limits = limits or Limits()

    async def query(self, server: WhoisServer, query: str) -> tuple[bytes, bool]:
        """``(answer bytes, cut_at_cap)``; raises SourceTimeout or TransportFailure."""
        cap = self._limits.caps.whois_bytes
        writer = None
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self._limits.timeouts.whois):
                reader, writer = await asyncio.open_connection(server.host, server.port)
                writer.write(query.encode("ascii") + b"\r\n")
                await writer.drain()
                while size <= cap:
                    chunk = await reader.read(16384)
                    if not chunk:
                        return b"".join(chunks), False
                    chunks.append(chunk)
                    size += len(chunk)
                return b"".join(chunks)[:cap], True
        except TimeoutError:
            limit = self._limits.timeouts.whois
            raise SourceTimeout(f"WHOIS {server.name} did not finish within {limit}s") from None
        except OSError as exc:
            raise TransportFailure(f"WHOIS {server.name}: {type(exc).__name__}") from None
        finally:
            if writer is not None:
                writer.close()
                with contextlib.suppress(OSError, TimeoutError):
                    async with asyncio.timeout(1):
                        await writer.wait_closed()


class WhoisClient:
    """Walks WHOIS referrals for domains and addresses."""

    def __init__(
        self,
        overrides: WhoisOverrides | None = None,
        limits: Limits | None = None,
        gates: ServerGates | None = None,
        transport: WhoisTransport | None = None,
        policy: AddressPolicy | None = None,
    ) -> None:
        self.overrides = overrides or WhoisOverrides()
        self._policy = policy or AddressPolicy()
        self._limits = limits or Limits()
        self._gates = gates or ServerGates(self._limits)
        self._transport = transport or WhoisTransport(self._limits)

    async def ask(self, server: WhoisServer, query: str) -> WhoisAnswer:
        """One query to one server, gated and retried; refusal text becomes an exception."""
        if not _SAFE_QUERY.match(query):
            raise InvalidQuery("WHOIS query contains characters no server should receive")
        if not server.trusted:
            purpose = f"WHOIS referral to {server.name[:100]}"
            address = await self._policy.vetted_address(server.host, server.port, purpose)
            server = WhoisServer(server.name, address, server.port)
        # The server's gate is shared by every name that leads to this host and port (and the
        # name keeps its own); the wait is not part of the query's timeout, which starts with
        # the connection.
        gate = self._gates.admission(server.host, server.port, name=server.name)

        async def attempt() -> WhoisAnswer:
            async with gate:
                raw, cut = await self._transport.query(server, query)
            text = decode_whois(raw)
            refused = refusal(text)
            if refused is not None:
                reason, retryable = refused
                if retryable:
                    raise RateLimited(f"WHOIS {server.name}: {reason}")
                raise QueryRefused(f"WHOIS {server.name}: {reason}")
            evidence = Evidence.capture(
                "whois",
                server.name,
                query,
                raw,
                cap=self._limits.caps.evidence_bytes,
                cut_in_transit=cut,
            )
            return WhoisAnswer(server.name, query, text, evidence)

        return await with_retries(attempt, self._limits.retry)

    async def _walk(self, first: WhoisServer, query: str, chain: WhoisChain) -> WhoisChain:
        server: WhoisServer | None = first
        seen: set[str] = set()
        for _ in range(self._limits.whois_max_referrals + 1):
            if server is None or server.name in seen:
                break
            seen.add(server.name)
            wire_query = (
                f"n + {query}" if server.name == "whois.arin.net" and ":" not in query else query
            )
            try:
                answer = await self.ask(server, wire_query)
            except HostingError as exc:
                chain.failures.append(exc)
                break
            chain.answers.append(answer)
            referral = find_referral(answer.text)
            server = self.overrides.server(referral.host, referral.port) if referral else None
        return chain

    async def lookup_domain(self, domain: str) -> WhoisChain:
        """Registry (and registrar) answers for ``domain``; raises NotFound when the registry
        says there is no such domain, or the failure that left no answer at all."""
        tld = domain.rstrip(".").rpartition(".")[2].lower()
        chain = WhoisChain()
        start: WhoisServer | None = None
        if tld in self.overrides.tlds:
            host, port = self.overrides.tlds[tld]
            start = WhoisServer(tld, host, port)
        else:
            iana = await self.ask(self.overrides.server(IANA_WHOIS, referred=False), tld)
            chain.answers.append(iana)
            referral = find_referral(iana.text)
            if referral is None:
                raise NotFound(f"IANA names no WHOIS server for .{tld}")
            start = self.overrides.server(referral.host, referral.port)
        await self._walk(start, domain, chain)
        return self._settle(chain, skip=0 if tld in self.overrides.tlds else 1)

    async def lookup_ip(self, address: str) -> WhoisChain:
        """RIR answers for ``address``, following ``ReferralServer`` (and IANA's ``refer:``)."""
        if self.overrides.first_ip is not None:
            host, port = self.overrides.first_ip
            first = WhoisServer(host, host, port)
        else:
            first = self.overrides.server(IANA_WHOIS, referred=False)
        return self._settle(await self._walk(first, address, WhoisChain()), skip=0)

    @staticmethod
    def _settle(chain: WhoisChain, skip: int) -> WhoisChain:
        useful = chain.answers[skip:]
        if not useful:
            if chain.failures:
                raise chain.failures[0]
            raise NotFound("no WHOIS server answered")
        if all(is_no_match(a.text) for a in useful):
            raise NotFound("WHOIS: no such object")
        return chain
