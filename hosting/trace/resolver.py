"""The driver of a trace: performs the steps the pure planner asks for, for a batch of URLs.

Shared by every URL of a batch: identical in-flight queries are coalesced, networks are indexed by
prefix (a second address in a known range costs no query), registrars are cached per registrable
domain, and lookups of addresses in the same /24 (or /48) are serialised so the first answers the
rest. Everything also goes through the injected :class:`~hosting.common.cache.ResolutionCache`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from hosting.common.cache import MemoryCache, ResolutionCache
from hosting.common.evidence import Evidence
from hosting.common.limits import Limits
from hosting.common.registrations import NetworkRecord, RegistrarRecord
from hosting.dns.lookups import DnsAnswer, DnsStatus
from hosting.trace.cdn import CdnCatalogue
from hosting.trace.prefixes import PrefixIndex, covering_prefixes, neighbourhood
from hosting.trace.resolution import HostResolution, Outcome, Step, StepKind, Target
from hosting.trace.result import Failure, HostingResult
from hosting.trace.sources import (
    DnsLookup,
    RdapLookup,
    RecordOutcome,
    WhoisLookup,
    rdap_domain,
    rdap_network,
    whois_domain,
    whois_network,
)

StepOutcome = tuple[Outcome, list[Evidence]]


@dataclass(frozen=True, slots=True)
class HostingClients:
    """The network clients a trace uses; tests hand in clients pointed at loopback."""

    dns: DnsLookup
    rdap: RdapLookup
    whois: WhoisLookup


def _pack(
    outcome: NetworkRecord | RegistrarRecord | Failure, evidence: list[Evidence]
) -> dict[str, Any]:
    return {"record": outcome.to_json(), "evidence": [e.to_record() for e in evidence]}


def _unpack_evidence(value: dict[str, Any]) -> list[Evidence]:
    return [Evidence.from_record(e) for e in value.get("evidence", [])]


def _failure_from(value: dict[str, Any]) -> Failure:
    record = value["record"]
    return Failure(record["source"], record["error"], record.get("detail", ""))


def for_url(result: HostingResult, url: str) -> HostingResult:
    """The result of a host's trace as the result of one of its URLs (lists of its own)."""
    if result.url == url:
        return result
    return replace(
        result,
        url=url,
        ips=list(result.ips),
        cname_chain=list(result.cname_chain),
        evidence=list(result.evidence),
        errors=list(result.errors),
    )


class HostingResolver:
    """Traces URLs to their hosting network, registrar and CDN, sharing work across a batch."""

    def __init__(
        self,
        clients: HostingClients,
        *,
        cache: ResolutionCache | None = None,
        cdn: CdnCatalogue | None = None,
        limits: Limits | None = None,
        registrable_domain: Callable[[str], str | None] = lambda d: d,
    ) -> None:
        self._clients = clients
        self._cache: ResolutionCache = cache if cache is not None else MemoryCache()
        self._cdn = cdn if cdn is not None else CdnCatalogue.load()
        self._limits = limits or Limits()
        self._registrable_domain = registrable_domain
        self._inflight: dict[Step, asyncio.Task[StepOutcome]] = {}
        self._indexes: dict[StepKind, PrefixIndex[tuple[NetworkRecord, list[Evidence]]]] = {
            StepKind.RDAP_IP: PrefixIndex(),
            StepKind.WHOIS_IP: PrefixIndex(),
        }
        self._hood_locks: dict[tuple[StepKind, str], asyncio.Lock] = {}
        self.queries = 0
        """Steps that reached a client (not answered by a cache or index): for benchmarks."""

    async def resolve(self, targets: Sequence[Target]) -> list[HostingResult]:
        """Trace every target; results in input order.

        A host is traced once however many of the targets are on it (every answer a trace
        gets is about the host, its domain and its addresses, never the path), and its result
        is handed to each of its URLs. At most ``batch_concurrency`` hosts are traced at once;
        each server's gate bounds what reaches it."""
        hosts: dict[tuple[str, str | None], Target] = {}
        for target in targets:
            hosts.setdefault((target.host, target.registrable_domain), target)
        traced: dict[tuple[str, str | None], HostingResult] = {}
        queue = iter(hosts.items())

        async def worker() -> None:
            for key, target in queue:
                traced[key] = await self.resolve_one(target)

        workers = min(len(hosts), max(1, self._limits.batch_concurrency))
        await asyncio.gather(*(worker() for _ in range(workers)))
        return [for_url(traced[(t.host, t.registrable_domain)], t.url) for t in targets]

    async def resolve_one(self, target: Target) -> HostingResult:
        """Trace one target: ask what the planner wants until it wants nothing more."""
        resolution = HostResolution(target)
        pending: dict[asyncio.Task[StepOutcome], Step] = {}
        try:
            while True:
                for step in resolution.next_steps():
                    pending[asyncio.ensure_future(self._perform(step))] = step
                if not pending:
                    break
                done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    outcome, evidence = task.result()
                    resolution.record(pending.pop(task), outcome, evidence)
        finally:
            for task in pending:
                task.cancel()
        return resolution.result(self._cdn, self._registrable_domain)

    def _perform(self, step: Step) -> asyncio.Task[StepOutcome]:
        # Coalesce: every resolution asking the same question awaits the same task.
        task = self._inflight.get(step)
        if task is None:
            task = asyncio.ensure_future(self._answer(step))
            self._inflight[step] = task
            task.add_done_callback(self._forget(step))
        return task

    def _forget(self, step: Step) -> Callable[[asyncio.Task[StepOutcome]], None]:
        def forget(_task: asyncio.Task[StepOutcome]) -> None:
            self._inflight.pop(step, None)

        return forget

    async def _answer(self, step: Step) -> StepOutcome:
        try:
            if step.kind is StepKind.DNS:
                return await self._dns(step.key)
            if step.kind in (StepKind.RDAP_DOMAIN, StepKind.WHOIS_DOMAIN):
                return await self._registrar(step)
            return await self._network(step)
        except Exception as exc:  # a client broke its contract; the batch must go on
            return Failure(step.kind.value, "ERROR", type(exc).__name__), []

    async def _dns(self, host: str) -> StepOutcome:
        entry = self._cache.get("dns", host)
        if entry is not None:
            answer = DnsAnswer.from_json(entry.value)
            return answer, answer.evidence
        self.queries += 1
        answer = await self._clients.dns.resolve_host(host)
        ok = answer.status is DnsStatus.OK
        ttls = self._limits.ttls
        self._cache.put(
            "dns", host, answer.to_json(), ttl=ttls.dns if ok else ttls.negative, negative=not ok
        )
        return answer, answer.evidence

    async def _registrar(self, step: Step) -> StepOutcome:
        kind = f"registrar-{step.kind.value.split('-')[0]}"
        entry = self._cache.get(kind, step.key)
        if entry is not None:
            evidence = _unpack_evidence(entry.value)
            if entry.negative:
                return _failure_from(entry.value), evidence
            return RegistrarRecord.from_json(entry.value["record"]), evidence
        self.queries += 1
        caps = self._limits.caps
        if step.kind is StepKind.RDAP_DOMAIN:
            outcome, evidence = await rdap_domain(self._clients.rdap, step.key)
        else:
            outcome, evidence = await whois_domain(self._clients.whois, step.key, caps.parse_chars)
        self._store(kind, step.key, (outcome, evidence), self._limits.ttls.registrar)
        return outcome, evidence

    def _store(self, kind: str, key: str, result: RecordOutcome, ttl: float) -> None:
        outcome, evidence = result
        negative = isinstance(outcome, Failure)
        ttl = self._limits.ttls.negative if negative else ttl
        self._cache.put(kind, key, _pack(outcome, evidence), ttl=ttl, negative=negative)

    def _known_network(self, step: Step, source: str) -> StepOutcome | None:
        hit = self._indexes[step.kind].lookup(step.key)
        if hit is not None:
            return hit
        pointer = self._cache.get(f"ip-{source}", step.key)
        if pointer is not None and pointer.negative:
            return _failure_from(pointer.value), _unpack_evidence(pointer.value)
        # Another process may have traced this network: try the pointer, then the usual sizes.
        keys = [str(pointer.value["network"])] if pointer is not None else []
        for cidr in keys + covering_prefixes(step.key):
            entry = self._cache.get(f"network-{source}", cidr)
            if entry is None:
                continue
            record = NetworkRecord.from_json(entry.value["record"])
            if not record.covers(step.key):
                continue
            evidence = _unpack_evidence(entry.value)
            for known in record.cidrs:
                self._indexes[step.kind].add(known, (record, evidence))
            return record, evidence
        return None

    async def _network(self, step: Step) -> StepOutcome:
        source = step.kind.value.split("-")[0]
        known = self._known_network(step, source)
        if known is not None:
            return known
        lock = self._hood_locks.setdefault((step.kind, neighbourhood(step.key)), asyncio.Lock())
        async with lock:
            known = self._known_network(step, source)
            if known is not None:
                return known
            self.queries += 1
            caps = self._limits.caps
            fetch: Awaitable[RecordOutcome]
            if step.kind is StepKind.RDAP_IP:
                fetch = rdap_network(self._clients.rdap, step.key)
            else:
                fetch = whois_network(self._clients.whois, step.key, caps.parse_chars)
            outcome, evidence = await fetch
            self._remember_network(step, source, outcome, evidence)
            return outcome, evidence

    def _remember_network(
        self,
        step: Step,
        source: str,
        outcome: NetworkRecord | RegistrarRecord | Failure,
        evidence: list[Evidence],
    ) -> None:
        ttls = self._limits.ttls
        if not isinstance(outcome, NetworkRecord) or not outcome.covers(step.key):
            self._store(f"ip-{source}", step.key, (outcome, evidence), ttls.network)
            return
        for cidr in outcome.cidrs:
            self._indexes[step.kind].add(cidr, (outcome, evidence))
            self._cache.put(f"network-{source}", cidr, _pack(outcome, evidence), ttl=ttls.network)
        pointer = {"network": outcome.cidrs[0]}
        self._cache.put(f"ip-{source}", step.key, pointer, ttl=ttls.network)
