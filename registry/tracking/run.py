"""Rechecks end to end, without Prefect: claim the due cases, probe them, record the checks.

Each batch's claim is committed before probing, so parallel batches and other workers take
disjoint cases; a batch is probed concurrently on one event loop, and every check recorded.
:func:`run_recheck` runs it all for ``takedown recheck`` and benchmarks; the recheck flow runs
one batch per task.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import uvloop
from sqlalchemy import Engine

from hosting.probe import ProbeLimits, Prober, build_prober
from registry import progress
from registry.base import utcnow
from registry.bulk.collector import collector_for_long_runs
from registry.db import unit_of_work
from registry.status import CheckOutcome
from registry.tracking.claims import RecheckTarget, claim_due_targets, count_due
from registry.tracking.decide import TrackingPolicy
from registry.tracking.service import ProbeReport, RecheckSummary, record_checks
from settings import Settings

ProberFactory = Callable[[], Prober]
"""Builds a prober; called inside the event loop that will use it."""
Clock = Callable[[], datetime]


def tracking_policy(settings: Settings) -> TrackingPolicy:
    """The recheck timing the settings ask for."""
    return TrackingPolicy(
        removal_confirmations=settings.removal_confirmations,
        removal_spacing=timedelta(seconds=settings.removal_spacing_seconds),
        recheck_interval=timedelta(seconds=settings.recheck_interval_seconds),
    )


def prober_factory(settings: Settings, limits: ProbeLimits | None = None) -> ProberFactory:
    """A factory of probers wired from the settings."""
    chosen = limits or ProbeLimits(
        timeout=settings.probe_timeout_seconds, max_bytes=settings.probe_max_bytes
    )

    def make() -> Prober:
        return build_prober(
            dns_nameservers=settings.dns_nameservers,
            allowed_networks=settings.probe_allowed_networks,
            user_agent=settings.probe_user_agent,
            limits=chosen,
        )

    return make


async def probe_targets(
    prober: Prober, targets: Sequence[RecheckTarget], clock: Clock = utcnow
) -> list[ProbeReport]:
    """Probe every target concurrently (within the prober's limits); one report each."""
    results = await prober.probe_many([(t.url, t.expected_sha256) for t in targets])
    at = clock()
    return [
        ProbeReport(
            case_id=target.case_id,
            outcome=CheckOutcome(result.outcome.value),
            at=at,
            http_status=result.status,
            address=result.address,
            origin_address=result.origin_address,
            sha256=result.sha256,
            bytes_read=result.bytes_read,
            error=result.error,
        )
        for target, result in zip(targets, results, strict=True)
    ]


@dataclass(frozen=True, slots=True)
class RecheckRun:
    """Where and how a recheck runs: the database, the rules, the batch size, the clock."""

    engine: Engine
    policy: TrackingPolicy
    batch_size: int = 500
    flow_run_id: str | None = None
    clock: Clock = utcnow

    def claim(self) -> list[RecheckTarget]:
        """Claim one batch and commit the claim; what to probe comes back with it."""
        with unit_of_work(self.engine) as session:
            return claim_due_targets(
                session, policy=self.policy, limit=self.batch_size, now=self.clock()
            )

    def record(self, reports: list[ProbeReport]) -> RecheckSummary:
        with unit_of_work(self.engine) as session:
            return record_checks(session, reports, policy=self.policy, flow_run_id=self.flow_run_id)


async def recheck_one_batch(run: RecheckRun, prober: Prober) -> RecheckSummary | None:
    """Claim a batch (committed before probing), probe it, record it; None when nothing is due.

    The database work runs on worker threads, so other batches keep probing meanwhile."""
    targets = await asyncio.to_thread(run.claim)
    if not targets:
        return None
    reports = await probe_targets(prober, targets, run.clock)
    return await asyncio.to_thread(run.record, reports)


async def recheck_due(
    run: RecheckRun, prober: Prober, *, workers: int = 1, max_batches: int | None = None
) -> RecheckSummary:
    """Recheck every due case with ``workers`` batches in flight, until none is due (or
    ``max_batches`` batches were started). The batches share one prober: one address cache,
    one set of kept-alive connections, one global concurrency limit."""
    total = RecheckSummary()
    started = 0

    async def pipeline() -> None:
        nonlocal started
        while max_batches is None or started < max_batches:
            started += 1
            summary = await recheck_one_batch(run, prober)
            if summary is None:
                return
            total.add(summary)
            progress.advance(summary.checked)

    await asyncio.gather(*(pipeline() for _ in range(workers)))
    return total


def run_recheck(
    engine: Engine,
    make_prober: ProberFactory,
    *,
    policy: TrackingPolicy,
    batch_size: int = 500,
    workers: int = 1,
    max_batches: int | None = None,
    flow_run_id: str | None = None,
    clock: Clock = utcnow,
) -> RecheckSummary:
    """:func:`recheck_due` on a fresh event loop, for callers outside one (the CLI, tests).

    The loop is uvloop's: a recheck is thousands of short HTTP exchanges and timers, where
    the standard loop's own bookkeeping costs more CPU than the probing (about a quarter
    less CPU per check with uvloop, measured with ``bench.bench_recheck``).
    """
    run = RecheckRun(engine, policy, batch_size, flow_run_id, clock)

    async def main() -> RecheckSummary:
        async with make_prober() as prober:
            return await recheck_due(run, prober, workers=workers, max_batches=max_batches)

    expected = None
    if progress.watching():
        with unit_of_work(engine) as session:
            expected = count_due(session, clock())
    with collector_for_long_runs(), progress.tracked("recheck", expected):
        return uvloop.run(main())
