"""The trace flow: every case waiting for a trace, in batches. Thin: the work is in registry.

Each task claims and traces one batch (claim committed first, results in a second
transaction), so several workers running this flow against one PostgreSQL share the work.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from registry import progress
from registry.base import utcnow
from registry.db import engine_for, unit_of_work
from registry.tracing.claims import count_due
from registry.tracing.run import DEFAULT_BATCH, trace_batch
from registry.tracing.sources import TraceSources
from registry.tracing.store import BatchSummary
from settings import get_settings

ACTOR = "flow:trace"


@task(name="trace-batch", cache_policy=NO_CACHE)
def trace_cases_batch(
    size: int, database_url: str | None = None, case_ids: list[int] | None = None
) -> dict[str, Any]:
    """Claim up to ``size`` due cases, trace and record them; return the batch summary."""
    settings = get_settings()
    summary = trace_batch(
        engine_for(database_url),
        TraceSources.from_settings(settings),
        size=size,
        actor=ACTOR,
        flow_run_id=str(flow_run.get_id() or "") or None,
        case_ids=case_ids,
    )
    return summary.to_json()


def add_up(batches: list[dict[str, Any]]) -> dict[str, Any]:
    """One summary for the whole run."""
    return BatchSummary.add_up(batches)


def _expected(
    limit: int | None, database_url: str | None, case_ids: list[int] | None
) -> int | None:
    """How many cases the run will trace, counted only when someone watches its progress."""
    if not progress.watching():
        return None
    if case_ids is not None:
        due = len(case_ids)
    else:
        with unit_of_work(engine_for(database_url)) as session:
            due = count_due(session, utcnow())
    return due if limit is None else min(due, limit)


def summary_markdown(total: dict[str, Any]) -> str:
    """The run's artifact: counts, then traced cases per hosting country."""
    lines = [
        "| batches | claimed | traced | failed | skipped |",
        "|---:|---:|---:|---:|---:|",
        f"| {total['batches']} | {total['claimed']} | {total['traced']} | {total['failed']} "
        f"| {total['skipped']} |",
    ]
    if total["countries"]:
        lines += ["", "| hosting country | traced cases |", "|---|---:|"]
        lines += [f"| {country} | {n} |" for country, n in total["countries"].items()]
    return "\n".join(lines)


@flow(name="trace", log_prints=False)
def trace_flow(
    limit: int | None = None,
    batch_size: int = DEFAULT_BATCH,
    database_url: str | None = None,
    case_ids: list[int] | None = None,
) -> dict[str, Any]:
    """Trace every case waiting for it (at most ``limit``; only ``case_ids`` when given)."""
    logger = get_run_logger()
    batches: list[dict[str, Any]] = []
    claimed = 0
    with progress.tracked("trace", _expected(limit, database_url, case_ids)):
        while limit is None or claimed < limit:
            size = batch_size if limit is None else min(batch_size, limit - claimed)
            batch = trace_cases_batch(size, database_url, case_ids)
            if not batch["claimed"]:
                break
            batches.append(batch)
            claimed += int(batch["claimed"])
            progress.advance(int(batch["claimed"]))
            logger.info(
                "batch %d: %d claimed, %d traced, %d failed",
                len(batches),
                batch["claimed"],
                batch["traced"],
                batch["failed"],
            )
    total = add_up(batches)
    create_markdown_artifact(summary_markdown(total), key="trace-summary", description="Trace")
    return total


trace = trace_flow
"""The same flow under its Prefect name (the web app starts it as ``flows.tracing.trace``)."""
