"""The notify flow: every case waiting for notices, in batches; the notices land in the outbox.

Thin: planning, grouping, rendering and storing are :mod:`registry.notifying.service`'s. One task
per batch of case ids; the directory is loaded and the templates compiled once per process.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from notices.directory import Directory, load_directory
from notices.mail.message import NoticeComposer
from registry import progress
from registry.base import utcnow
from registry.db import engine_for, unit_of_work
from registry.notifying.service import NotifySummary, notify_cases, waiting_case_ids
from settings import get_settings

ACTOR = "flow:notify"
DEFAULT_BATCH = 500


class NoDirectory(ValueError):
    """Notify needs the partner directory, and none is configured."""

    def __init__(self) -> None:
        super().__init__(
            "TAKEDOWN_DIRECTORY is not set: notify needs the partner directory "
            "(a YAML file; see notices/data/directory.example.yaml)"
        )


def directory_path() -> Path:
    """The configured directory file; :class:`NoDirectory` if there is none."""
    path = get_settings().directory
    if path is None:
        raise NoDirectory()
    return path


@lru_cache(maxsize=4)
def _composer(path: str, mtime_ns: int) -> tuple[Directory, NoticeComposer]:
    directory = load_directory(path)
    return directory, NoticeComposer(directory)


def composer_for(path: Path) -> tuple[Directory, NoticeComposer]:
    """The directory at ``path`` and a composer for it: loaded and compiled once per process
    (again when the file changes)."""
    return _composer(str(path), path.stat().st_mtime_ns)


@task(name="notify-batch", cache_policy=NO_CACHE)
def notify_cases_batch(case_ids: list[int], database_url: str | None = None) -> dict[str, Any]:
    """Queue the notices due for one batch of cases, in one transaction; return its summary."""
    directory, composer = composer_for(directory_path())
    with unit_of_work(engine_for(database_url)) as session:
        summary = notify_cases(
            session,
            case_ids,
            directory=directory,
            composer=composer,
            actor=ACTOR,
            now=utcnow(),
            flow_run_id=str(flow_run.get_id() or "") or None,
        )
    return summary.to_json()


@task(name="cases-waiting-for-notices", cache_policy=NO_CACHE)
def cases_waiting(limit: int | None = None, database_url: str | None = None) -> list[int]:
    """The ids of the cases waiting for notices, oldest first."""
    with unit_of_work(engine_for(database_url)) as session:
        return waiting_case_ids(session, limit=limit)


def add_up(batches: list[dict[str, Any]]) -> dict[str, Any]:
    """One summary for the whole run."""
    return NotifySummary.add_up(batches)


@flow(name="notify", log_prints=False)
def notify_flow(
    limit: int | None = None,
    batch_size: int = DEFAULT_BATCH,
    database_url: str | None = None,
) -> dict[str, Any]:
    """Plan, render and queue the notices of every case waiting for them (at most ``limit``)."""
    logger = get_run_logger()
    directory_path()  # refuse before any work without a directory
    ids = cases_waiting(limit, database_url)
    batches = []
    with progress.tracked("notify", len(ids)):
        for start in range(0, len(ids), batch_size):
            batch = notify_cases_batch(ids[start : start + batch_size], database_url)
            batches.append(batch)
            progress.advance(len(ids[start : start + batch_size]))
            logger.info(
                "batch %d: %d cases, %d notices queued (%d held)",
                len(batches),
                batch["cases"],
                batch["notices"],
                batch["notices_held"],
            )
    return add_up(batches)
