"""The delivery flow: due notices leave the outbox over one SMTP connection per batch (or as
``.eml`` files without a relay). One task per batch;
the work is :mod:`registry.delivery.batch`'s.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from notices.transport.choice import transport_from_settings
from notices.transport.outcome import MailTransport
from registry import progress
from registry.base import utcnow
from registry.db import engine_for, unit_of_work
from registry.delivery.batch import DEFAULT_BATCH, DeliverySummary, deliver_batch, worker_name
from registry.delivery.outbox import count_due
from settings import get_settings


def transport_for_settings() -> MailTransport:
    """SMTP when ``TAKEDOWN_SMTP_URL`` is set, else ``.eml`` files in ``TAKEDOWN_OUTBOX_DIR``."""
    settings = get_settings()
    smtp_url = settings.smtp_url.get_secret_value() if settings.smtp_url else None
    return transport_from_settings(smtp_url, settings.outbox_dir)


@task(name="deliver-batch", cache_policy=NO_CACHE)
def deliver_notices_batch(size: int, database_url: str | None = None) -> dict[str, Any]:
    """Deliver up to ``size`` due notices over one connection; return the batch summary."""
    with transport_for_settings() as transport:
        summary = deliver_batch(
            engine_for(database_url),
            transport,
            worker=worker_name(),
            size=size,
        )
    return summary.to_json()


def add_up(batches: list[dict[str, Any]]) -> dict[str, Any]:
    """One summary for the whole run."""
    return DeliverySummary.add_up(batches)


def _expected(limit: int | None, database_url: str | None) -> int | None:
    """How many notices the run will send, counted only when someone watches its progress."""
    if not progress.watching():
        return None
    with unit_of_work(engine_for(database_url)) as session:
        due = count_due(session, utcnow())
    return due if limit is None else min(due, limit)


@flow(name="deliver", log_prints=False)
def deliver_flow(
    limit: int | None = None,
    batch_size: int = DEFAULT_BATCH,
    database_url: str | None = None,
) -> dict[str, Any]:
    """Deliver every due notice (at most ``limit``), batch after batch, until none is due or
    the relay stops taking them."""
    logger = get_run_logger()
    batches: list[dict[str, Any]] = []
    claimed = 0
    with progress.tracked("deliver", _expected(limit, database_url)):
        while limit is None or claimed < limit:
            size = batch_size if limit is None else min(batch_size, limit - claimed)
            batch = deliver_notices_batch(size, database_url)
            if batch["claimed"] or batch["requeued"] or batch["unknown"]:
                batches.append(batch)
            claimed += int(batch["claimed"])
            progress.advance(int(batch["claimed"]))
            logger.info(
                "batch: %d claimed, %d sent, %d retrying, %d failed",
                batch["claimed"],
                batch["sent"],
                batch["retrying"],
                batch["failed"],
            )
            # Stop when nothing was due, or when the relay is in trouble (the rest waits).
            if not batch["claimed"] or batch["released"]:
                break
    return add_up(batches)
