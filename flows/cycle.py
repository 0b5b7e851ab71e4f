"""One tracking cycle, the scheduled heartbeat of the engine: read the inbox (when one is set)
→ recheck → trace the moved → notify the new rounds → escalate → deliver.

Each step is the flow (or the batch functions) of its own module: the recheck verifies removals
and marks cases that moved or reappeared; the trace step re-traces the moved ones (and retries
failed traces); notify queues their new round; the ladder queues reminders and escalations; and
delivery sends whatever is due. The inbox goes first: a bounce's re-routed notice then leaves
in the same cycle, and a host saying "removed" is rechecked at once. Every step claims its work
with ``SKIP LOCKED`` and keys what it queues, so cycles overlapping on several workers share the
work instead of doubling it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from flows.deliver import deliver_flow
from flows.escalate import escalate_flow
from flows.inbox import inbox_flow
from flows.notify import directory_path, notify_flow
from flows.recheck import summary_markdown
from flows.tracing import trace_flow
from registry.db import configured_url, engine_for
from registry.tracking.run import prober_factory, run_recheck, tracking_policy
from registry.tracking.service import RecheckSummary
from settings import get_settings

DEFAULT_BATCH = 500
RECHECK_WORKERS = 2
"""Recheck batches in flight at once within one cycle (they share one prober)."""


@task(name="recheck-due", cache_policy=NO_CACHE)
def recheck_due_cases(
    batch_size: int = DEFAULT_BATCH,
    removed_recheck_seconds: float | None = None,
    database_url: str | None = None,
) -> dict[str, Any]:
    """Probe every case whose check is due, batch after batch; return the summary.

    ``removed_recheck_seconds`` shortens how often a verified removal is looked at again (a
    day by default): the demo's world re-uploads within seconds.
    """
    settings = get_settings()
    policy = tracking_policy(settings)
    if removed_recheck_seconds is not None:
        policy = replace(
            policy, removed_recheck_interval=timedelta(seconds=removed_recheck_seconds)
        )
    summary = run_recheck(
        engine_for(database_url),
        prober_factory(settings),
        policy=policy,
        batch_size=batch_size,
        workers=RECHECK_WORKERS,
        flow_run_id=str(flow_run.get_id() or "") or None,
    )
    return summary.to_json()


@flow(name="tracking-cycle", log_prints=False)
def tracking_cycle_flow(
    batch_size: int = DEFAULT_BATCH,
    removed_recheck_seconds: float | None = None,
    database_url: str | None = None,
) -> dict[str, Any]:
    """Recheck the due cases, re-trace and re-notify the moved and reappeared, take the due
    ladder steps, and deliver every due notice; return each step's summary."""
    directory_path()  # without a directory no new round could be notified: refuse first
    url = configured_url(database_url)
    read = inbox_flow(database_url=url) if get_settings().inbox_url is not None else None
    rechecked = recheck_due_cases(batch_size, removed_recheck_seconds, url)
    create_markdown_artifact(
        summary_markdown(RecheckSummary.from_json(rechecked)),
        key="recheck-summary",
        description="Recheck",
    )
    # Moved cases are re-traced from fresh DNS answers: the trace claim forgets the cached ones.
    traced = trace_flow(batch_size=batch_size, database_url=url)
    notified = notify_flow(batch_size=batch_size, database_url=url)
    escalated = escalate_flow(batch_size=batch_size, database_url=url)
    delivered = deliver_flow(database_url=url)
    return {
        "inbox": read,
        "recheck": rechecked,
        "trace": traced,
        "notify": notified,
        "escalate": escalated,
        "deliver": delivered,
    }
