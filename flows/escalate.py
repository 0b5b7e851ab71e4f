"""The escalate flow: take the reminder, escalation and analyst steps that are due, in batches.

Thin: the ladder and its notices are :mod:`registry.escalation.service`'s. One task per batch of
case ids; the notices it queues leave with the next delivery run, inside the sending window.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from flows.notify import composer_for, directory_path
from registry.base import utcnow
from registry.db import engine_for, unit_of_work
from registry.escalation.service import ACTOR, EscalateSummary, escalate_cases, ladder_case_ids

DEFAULT_BATCH = 500


@task(name="ladder-cases", cache_policy=NO_CACHE)
def ladder_cases(database_url: str | None = None) -> list[int]:
    """The ids of the cases the ladder may concern, oldest first."""
    with unit_of_work(engine_for(database_url)) as session:
        return ladder_case_ids(session)


@task(name="escalate-batch", cache_policy=NO_CACHE)
def escalate_cases_batch(case_ids: list[int], database_url: str | None = None) -> dict[str, Any]:
    """Take the due ladder steps of one batch of cases, in one transaction; return its summary."""
    directory, composer = composer_for(directory_path())
    with unit_of_work(engine_for(database_url)) as session:
        summary = escalate_cases(
            session,
            case_ids,
            directory=directory,
            composer=composer,
            now=utcnow(),
            actor=ACTOR,
            flow_run_id=str(flow_run.get_id() or "") or None,
        )
    return summary.to_json()


def add_up(batches: list[dict[str, Any]]) -> dict[str, Any]:
    """One summary for the whole run."""
    return EscalateSummary.add_up(batches)


@flow(name="escalate", log_prints=False)
def escalate_flow(
    batch_size: int = DEFAULT_BATCH, database_url: str | None = None
) -> dict[str, Any]:
    """Take every ladder step that is due: reminders, escalations, analyst flags."""
    logger = get_run_logger()
    directory_path()  # refuse before any work without a directory
    ids = ladder_cases(database_url)
    batches = []
    for start in range(0, len(ids), batch_size):
        batch = escalate_cases_batch(ids[start : start + batch_size], database_url)
        batches.append(batch)
        logger.info(
            "batch %d: %d reminders, %d escalations, %d analyst flags, %d notices queued",
            len(batches),
            batch["reminders"],
            batch["escalations"],
            batch["analyst"],
            batch["notices"],
        )
    return add_up(batches)
