"""The delivery flow: due notices leave the outbox over one SMTP connection per batch (or as
``.eml`` files without a relay). The exactly-once protocol is
:mod:`registry.delivery.outbox`'s; this module only drives it: claim (committed), then per
message intent, send, outcome.
"""

from __future__ import annotations

import os
import random
import socket
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine

from flows import summaries
from flows.db import engine_for
from notices.transport.choice import transport_from_settings
from notices.transport.outcome import DeliveryOutcome, MailTransport
from registry.base import utcnow
from registry.db import session_factory, unit_of_work
from registry.delivery.outbox import (
    ClaimedNotice,
    DeliveryPolicy,
    claim_due,
    record_outcome,
    recover_abandoned,
    release,
    start_attempt,
)
from registry.status import NoticeStatus
from settings import get_settings

DEFAULT_BATCH = 200


def worker_name() -> str:
    """Who holds a claim: host, process and a random tag (unique per call)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(slots=True)
class DeliverySummary:
    """What one delivery batch did."""

    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    released: int = 0
    """Claimed but not tried: the relay was unreachable, so they wait with the one that failed."""
    requeued: int = 0
    """Abandoned claims (a worker died before trying them) put back in the queue."""
    unknown: int = 0
    """Abandoned mid-transaction: failed as "delivery outcome unknown", never resent."""
    sent_by_kind: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        """Plain values for flow tasks and ``takedown deliver --json``."""
        return {
            "claimed": self.claimed,
            "sent": self.sent,
            "retrying": self.retrying,
            "failed": self.failed,
            "released": self.released,
            "requeued": self.requeued,
            "unknown": self.unknown,
            "sent_by_kind": dict(sorted(self.sent_by_kind.items())),
        }


def _relay_trouble(outcome: DeliveryOutcome, code: int | None) -> bool:
    # No reply code: the relay was unreachable or the connection broke; the rest would fail too.
    return outcome is DeliveryOutcome.TEMPORARY_FAILURE and code is None


def deliver_batch(
    engine: Engine,
    transport: MailTransport,
    *,
    worker: str,
    size: int = DEFAULT_BATCH,
    policy: DeliveryPolicy | None = None,
    clock: Callable[[], datetime] = utcnow,
    rng: random.Random | None = None,
) -> DeliverySummary:
    """Recover abandoned claims, claim up to ``size`` due notices and deliver them in order.

    Each message's outcome is committed right after its transaction, together with the next
    message's intent, so a crash at any point leaves every notice either untried (requeued
    later) or marked as attempted (never silently resent).
    """
    chosen = policy or DeliveryPolicy()
    summary = DeliverySummary()
    with unit_of_work(engine) as session:
        summary.requeued, summary.unknown = recover_abandoned(
            session, now=clock(), lease=chosen.lease
        )
        claimed = claim_due(session, worker=worker, limit=size, now=clock())
    summary.claimed = len(claimed)
    if not claimed:
        return summary
    with session_factory(engine)() as session:
        with session.begin():
            started = start_attempt(session, claimed[0], worker=worker, now=clock())
        for index, notice in enumerate(claimed):
            result = transport.send_batch([notice.mail])[0] if started else None
            following: ClaimedNotice | None = None
            with session.begin():
                now = clock()
                if result is not None:
                    status = record_outcome(
                        session, notice, result, worker=worker, now=now, policy=chosen, rng=rng
                    )
                    _count(summary, notice, status)
                    if _relay_trouble(result.outcome, result.code):
                        rest = claimed[index + 1 :]
                        until = chosen.retry_at(notice.attempts + 1, now, rng)
                        release(session, rest, worker=worker, until=until)
                        summary.released = len(rest)
                        break
                if index + 1 < len(claimed):
                    following = claimed[index + 1]
                    started = start_attempt(session, following, worker=worker, now=now)
    return summary


def _count(summary: DeliverySummary, notice: ClaimedNotice, status: NoticeStatus) -> None:
    if status is NoticeStatus.SENT:
        summary.sent += 1
        summary.sent_by_kind[notice.kind] += 1
    elif status is NoticeStatus.FAILED:
        summary.failed += 1
    else:
        summary.retrying += 1


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
            engine_for(database_url or get_settings().database_url),
            transport,
            worker=worker_name(),
            size=size,
        )
    return summary.to_json()


def add_up(batches: list[dict[str, Any]]) -> dict[str, Any]:
    """One summary for the whole run."""
    return summaries.add_up(
        batches,
        ("claimed", "sent", "retrying", "failed", "released", "requeued", "unknown"),
        "sent_by_kind",
    )


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
    while limit is None or claimed < limit:
        size = batch_size if limit is None else min(batch_size, limit - claimed)
        batch = deliver_notices_batch(size, database_url)
        if batch["claimed"] or batch["requeued"] or batch["unknown"]:
            batches.append(batch)
        claimed += int(batch["claimed"])
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
