"""The recheck flow: probe the cases that are due, verify removals, reopen reappearances.

Each task claims one batch (committed before probing, so parallel tasks and other workers take
disjoint cases), probes it concurrently on one event loop, and records every check; the work is
:mod:`registry.tracking.run`'s.
"""

from __future__ import annotations

from typing import Any

import uvloop
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from registry.bulk.collector import collector_for_long_runs
from registry.db import engine_for
from registry.tracking.run import (
    RecheckRun,
    prober_factory,
    recheck_one_batch,
    tracking_policy,
)
from registry.tracking.service import RecheckSummary
from settings import get_settings


@task(name="recheck-batch", cache_policy=NO_CACHE)
def recheck_batch(batch_size: int, database_url: str | None = None) -> dict[str, Any] | None:
    """Claim, probe and record one batch of due cases; None when nothing was due."""
    settings = get_settings()
    run = RecheckRun(
        engine_for(database_url),
        tracking_policy(settings),
        batch_size,
        flow_run_id=str(flow_run.get_id() or "") or None,
    )
    make_prober = prober_factory(settings)

    async def main() -> RecheckSummary | None:
        async with make_prober() as prober:
            return await recheck_one_batch(run, prober)

    with collector_for_long_runs():
        summary = uvloop.run(main())
    return summary.to_json() if summary is not None else None


def summary_markdown(summary: RecheckSummary) -> str:
    """The flow run's artifact: what was checked and what it changed."""
    data = summary.to_json()
    outcomes = data["outcomes"]
    lines = [
        "| checked | removal verified | reappeared | moved | needs analyst | closed |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {data['checked']} | {data['removal_verified']} | {data['reappeared']} "
        f"| {data['moved']} | {data['needs_analyst']} | {data['closed']} |",
        "",
        "| " + " | ".join(outcomes) + " |",
        "|" + "---:|" * len(outcomes),
        "| " + " | ".join(str(n) for n in outcomes.values()) + " |",
    ]
    return "\n".join(lines)


@flow(name="recheck", log_prints=False)
def recheck_flow(
    batch_size: int = 500,
    parallel: int = 2,
    max_batches: int = 1000,
    database_url: str | None = None,
) -> dict[str, Any]:
    """Recheck the due cases: ``parallel`` batch tasks at a time until none is due."""
    logger = get_run_logger()
    total = RecheckSummary()
    started = 0
    while started < max_batches:
        wave = min(parallel, max_batches - started)
        futures = [recheck_batch.submit(batch_size, database_url) for _ in range(wave)]
        started += wave
        results = [future.result() for future in futures]
        for result in results:
            if result is not None:
                total.add(RecheckSummary.from_json(result))
        if any(r is None or r["checked"] < batch_size for r in results):
            break  # the queue ran dry in this wave
    logger.info(
        "%d checked: %d removals verified, %d reappeared, %d moved, %d need an analyst",
        total.checked,
        total.removal_verified,
        total.reappeared,
        total.moved,
        total.needs_analyst,
    )
    create_markdown_artifact(summary_markdown(total), key="recheck-summary", description="Recheck")
    return total.to_json()
