"""One delivery batch: recover abandoned claims, claim the due notices, send them in order.

The exactly-once protocol is :mod:`registry.delivery.outbox`'s; this module drives it: the
claim is committed first, then for each message its intent, the send, and its outcome.
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

from sqlalchemy import Engine

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
from registry.tally import Tally

DEFAULT_BATCH = 200


def worker_name() -> str:
    """Who holds a claim: host, process and a random tag (unique per call)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(slots=True)
class DeliverySummary(Tally):
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
