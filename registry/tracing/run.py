"""One trace batch end to end: claim, resolve, record, in two short transactions.

The claim is committed before any question goes out, so other workers see it at once; the slow
part (the network) holds no transaction; the results, the new cache entries and the case moves
are written together in a second transaction. A worker that dies in between leaves its cases in
``tracing`` until their lease ends, then any worker claims them again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import uvloop
from sqlalchemy import Engine

from hosting.trace import HostingResult, Target
from registry.base import utcnow
from registry.db import unit_of_work
from registry.tracing.cache import DatabaseCache
from registry.tracing.claims import ClaimedCase, TraceRetry, claim_cases
from registry.tracing.sources import TraceSources
from registry.tracing.store import BatchSummary, record_results

DEFAULT_BATCH = 500


async def resolve_claimed(
    claimed: Sequence[ClaimedCase], sources: TraceSources, cache: DatabaseCache
) -> tuple[list[HostingResult], int]:
    """Trace every claimed case through one resolver sharing ``cache``; results in order, and
    the number of questions that reached a server."""
    async with sources.open(cache) as resolver:
        targets = [Target(c.url, c.host, c.registrable_domain) for c in claimed]
        results = await resolver.resolve(targets)
        return results, resolver.queries


def trace_batch(
    engine: Engine,
    sources: TraceSources,
    *,
    size: int = DEFAULT_BATCH,
    actor: str,
    flow_run_id: str | None = None,
    retry: TraceRetry | None = None,
    case_ids: Sequence[int] | None = None,
    now: datetime | None = None,
) -> BatchSummary:
    """Claim up to ``size`` due cases, trace them, and record the outcome of each.

    Returns an empty summary when nothing was due. Must not be called from a running event
    loop (it runs its own)."""
    started = now or utcnow()
    # A batch run "as of" a given instant judges the freshness of cached answers by it too.
    cache = DatabaseCache(clock=started.timestamp) if now is not None else DatabaseCache()
    with unit_of_work(engine) as session:
        claimed = claim_cases(
            session,
            limit=size,
            actor=actor,
            now=started,
            retry=retry,
            flow_run_id=flow_run_id,
            case_ids=case_ids,
        )
        if claimed:
            cache.preload(
                session,
                hosts={c.host for c in claimed},
                domains={c.registrable_domain for c in claimed if c.registrable_domain},
            )
    if not claimed:
        return BatchSummary()
    # On uvloop, as the recheck: a batch is thousands of short exchanges and timers, where its
    # loop costs less CPU than the standard one.
    results, queries = uvloop.run(resolve_claimed(claimed, sources, cache))
    with unit_of_work(engine) as session:
        summary = record_results(
            session,
            claimed,
            results,
            actor=actor,
            now=utcnow() if now is None else now,
            retry=retry,
            flow_run_id=flow_run_id,
        )
        summary.cache_written = cache.flush(session)
        cache.prune(session)
    summary.queries = queries
    summary.cache_loaded = cache.loaded
    return summary
