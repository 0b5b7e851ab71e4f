"""The durable outbox: notices are stored first, then claimed and delivered exactly once.

The protocol, and why each step is committed on its own:

1. **claim**: due ``pending`` notices (``send_after <= now``) become ``sending`` with
   ``claimed_by``/``claimed_at``; one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)``
   so workers on PostgreSQL never take the same notice (on SQLite the statement is a write from
   its first step, and the database's single writer lock makes it atomic);
2. **intent**, before each message's SMTP transaction: ``attempts`` + 1 and ``last_error`` set to
   :data:`ATTEMPT_STARTED`, committed, so a crash from here on is visible;
3. **outcome**, right after it: ``sent`` (with ``sent_at``, and the cases' ``first_notice_at``
   if unset), back to ``pending`` with a later ``send_after`` (temporary failure, exponential
   backoff with jitter), or ``failed`` with the reason. The next message's intent is committed
   with this outcome, so each message costs one commit.

A notice left in ``sending`` past the lease (its worker died) is requeued when its claim never
started a transaction; otherwise nobody knows whether the relay took it, so it is marked
``failed`` with "delivery outcome unknown" and its cases flagged for an analyst: never resent
behind anyone's back.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, select, update
from sqlalchemy.orm import Session

from notices.facts import clean_text
from notices.transport.outcome import DeliveryOutcome, DeliveryResult, OutgoingMail
from registry.base import table_of
from registry.models import Case, Notice, notice_cases
from registry.status import NoticeStatus

ATTEMPT_STARTED = "delivery attempt started; outcome not yet recorded"
"""``last_error`` while a message's SMTP transaction is under way."""
OUTCOME_UNKNOWN = "delivery outcome unknown"
MAX_ERROR = 1000


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """Retries, the claim lease and the batch size of delivery."""

    first_delay: timedelta = timedelta(minutes=1)
    max_delay: timedelta = timedelta(hours=6)
    jitter: float = 0.2
    """Each delay is stretched by up to this share at random, so retries do not arrive together."""
    max_attempts: int = 12
    """After this many temporary failures the notice fails for good."""
    lease: timedelta = timedelta(minutes=10)
    """A notice in ``sending`` whose last claim or attempt is older than this is abandoned."""

    def retry_at(self, attempts: int, now: datetime, rng: random.Random | None = None) -> datetime:
        """When to try again after the ``attempts``-th failed attempt (the delay doubles)."""
        exponent = min(max(attempts - 1, 0), 30)
        delay: timedelta = min(self.max_delay, self.first_delay * (2**exponent))
        stretch = 1.0 + (rng or random).uniform(0.0, self.jitter)
        return now + delay * stretch


@dataclass(frozen=True, slots=True)
class ClaimedNotice:
    """A notice this worker holds in ``sending``: the exact bytes to send and the envelope."""

    id: int
    kind: str
    mail: OutgoingMail
    attempts: int


def _due(now: datetime) -> ColumnElement[bool]:
    return (Notice.status == NoticeStatus.PENDING) & (
        Notice.send_after.is_(None) | (Notice.send_after <= now)
    )


def count_due(session: Session, now: datetime) -> int:
    """How many notices are due to leave now (for progress; claims may find fewer)."""
    return int(session.scalar(select(func.count()).select_from(Notice).where(_due(now))) or 0)


def claim_due(session: Session, *, worker: str, limit: int, now: datetime) -> list[ClaimedNotice]:
    """Claim up to ``limit`` due pending notices for ``worker``, oldest due first. Flushes."""
    due = (
        select(Notice.id)
        .where(_due(now))
        .order_by(Notice.send_after, Notice.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = session.execute(
        update(Notice)
        .where(Notice.id.in_(due.scalar_subquery()))
        .values(status=NoticeStatus.SENDING, claimed_by=worker[:64], claimed_at=now)
        .returning(Notice.id)
        .execution_options(synchronize_session=False)
    )
    ids = sorted(int(row[0]) for row in claimed)
    if not ids:
        return []
    rows = session.execute(
        select(
            Notice.id,
            Notice.kind,
            Notice.message_id,
            Notice.recipient_email,
            Notice.rendered,
            Notice.attempts,
        )
        .where(Notice.id.in_(ids))
        .order_by(Notice.id)
    )
    return [
        ClaimedNotice(
            id=row.id,
            kind=row.kind,
            mail=OutgoingMail(
                message_id=row.message_id or f"<notice-{row.id}@invalid>",
                envelope_from=envelope_sender(row.rendered or ""),
                recipient=row.recipient_email,
                raw=(row.rendered or "").encode("utf-8"),
            ),
            attempts=row.attempts,
        )
        for row in rows
    ]


def envelope_sender(rendered: str) -> str:
    """The envelope sender of a stored message: the address in its own ``From:`` header, so a
    notice leaves as it was rendered even if the directory's address changed since."""
    head = rendered.partition("\r\n\r\n")[0].replace("\r\n ", " ").replace("\r\n\t", " ")
    for line in head.split("\r\n"):
        if line[:5].lower() == "from:":
            return parseaddr(line[5:])[1]
    return ""


# The per-message statements, built once: delivery runs them for every message it sends.


_NOTICES = table_of(Notice)
_CASES = table_of(Case)
_HELD_BY_ME = (
    (_NOTICES.c.id == bindparam("b_id"))
    & (_NOTICES.c.status == NoticeStatus.SENDING)
    & (_NOTICES.c.claimed_by == bindparam("b_worker"))
)
_START = (
    update(_NOTICES)
    .where(_HELD_BY_ME)
    .values(
        attempts=_NOTICES.c.attempts + 1,
        last_error=ATTEMPT_STARTED,
        claimed_at=bindparam("b_now", type_=_NOTICES.c.claimed_at.type),
    )
)
_OUTCOME = (
    update(_NOTICES)
    .where(_HELD_BY_ME)
    .values(
        status=bindparam("b_status", type_=_NOTICES.c.status.type),
        claimed_by=None,
        claimed_at=None,
        last_error=bindparam("b_error"),
        sent_at=bindparam("b_sent_at", type_=_NOTICES.c.sent_at.type),
        send_after=func.coalesce(
            bindparam("b_send_after", type_=_NOTICES.c.send_after.type), _NOTICES.c.send_after
        ),
    )
)
_FIRST_NOTICE = (
    update(_CASES)
    .where(
        _CASES.c.id.in_(
            select(notice_cases.c.case_id).where(notice_cases.c.notice_id == bindparam("b_id"))
        ),
        _CASES.c.first_notice_at.is_(None),
    )
    .values(first_notice_at=bindparam("b_now", type_=_CASES.c.first_notice_at.type))
)


def start_attempt(session: Session, notice: ClaimedNotice, *, worker: str, now: datetime) -> bool:
    """Record that a transaction for ``notice`` is about to start; False if the claim was lost
    (another worker took the notice back after the lease), in which case it must not be sent."""
    result = session.connection().execute(
        _START, {"b_id": notice.id, "b_worker": worker[:64], "b_now": now}
    )
    return bool(result.rowcount)


def record_outcome(
    session: Session,
    notice: ClaimedNotice,
    result: DeliveryResult,
    *,
    worker: str,
    now: datetime,
    policy: DeliveryPolicy,
    rng: random.Random | None = None,
) -> NoticeStatus:
    """Store what became of one attempt; returns the notice's new status. Flushes."""
    attempts = notice.attempts + 1
    said = result.reason or str(result.outcome)
    reason = clean_text(f"{result.code} {said}" if result.code else said, MAX_ERROR)
    error: str | None = reason
    sent_at = send_after = None
    if result.outcome is DeliveryOutcome.SENT:
        status, error, sent_at = NoticeStatus.SENT, None, now
    elif result.outcome is DeliveryOutcome.PERMANENT_FAILURE:
        status = NoticeStatus.FAILED
    elif attempts >= policy.max_attempts:
        status = NoticeStatus.FAILED
        error = f"gave up after {attempts} attempts: {reason}"[:MAX_ERROR]
    else:
        status = NoticeStatus.PENDING
        send_after = policy.retry_at(attempts, now, rng)
    connection = session.connection()
    connection.execute(
        _OUTCOME,
        {
            "b_id": notice.id,
            "b_worker": worker[:64],
            "b_status": status,
            "b_error": error,
            "b_sent_at": sent_at,
            "b_send_after": send_after,
        },
    )
    if status is NoticeStatus.SENT:
        # The statistics want the time the first notice actually left.
        connection.execute(_FIRST_NOTICE, {"b_id": notice.id, "b_now": now})
    elif status is NoticeStatus.FAILED:
        _flag_cases(session, [notice.id], f"notice {notice.id} failed: {error}")
    return status


def release(
    session: Session, notices: Sequence[ClaimedNotice], *, worker: str, until: datetime
) -> None:
    """Give back claimed notices that were never attempted, due again at ``until``."""
    if not notices:
        return
    session.execute(
        update(Notice)
        .where(
            Notice.id.in_([n.id for n in notices]),
            Notice.status == NoticeStatus.SENDING,
            Notice.claimed_by == worker[:64],
        )
        .values(status=NoticeStatus.PENDING, claimed_by=None, claimed_at=None, send_after=until)
        .execution_options(synchronize_session=False)
    )


def _flag_cases(session: Session, notice_ids: Sequence[int], reason: str) -> None:
    cases = select(notice_cases.c.case_id).where(notice_cases.c.notice_id.in_(notice_ids))
    session.execute(
        update(Case)
        .where(Case.id.in_(cases))
        .values(needs_analyst=True, analyst_reason=clean_text(reason, MAX_ERROR))
        .execution_options(synchronize_session=False)
    )


def recover_abandoned(session: Session, *, now: datetime, lease: timedelta) -> tuple[int, int]:
    """Deal with notices whose worker died: requeue those never attempted, fail the others as
    "delivery outcome unknown" (their cases flagged). Returns (requeued, unknown). Flushes."""
    stale = (Notice.status == NoticeStatus.SENDING) & (Notice.claimed_at < now - lease)
    unknown = list(
        session.scalars(
            select(Notice.id)
            .where(stale, Notice.last_error == ATTEMPT_STARTED)
            .with_for_update(skip_locked=True)
        )
    )
    if unknown:
        session.execute(
            update(Notice)
            .where(Notice.id.in_(unknown), Notice.status == NoticeStatus.SENDING)
            .values(
                status=NoticeStatus.FAILED,
                last_error=OUTCOME_UNKNOWN,
                claimed_by=None,
                claimed_at=None,
            )
            .execution_options(synchronize_session=False)
        )
        _flag_cases(
            session,
            unknown,
            f"{OUTCOME_UNKNOWN}: a delivery worker stopped during the SMTP transaction; "
            "check with the recipient before sending again",
        )
    requeued = session.execute(
        update(Notice)
        .where(stale, (Notice.last_error.is_(None)) | (Notice.last_error != ATTEMPT_STARTED))
        .values(status=NoticeStatus.PENDING, claimed_by=None, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(requeued, "rowcount", 0) or 0), len(unknown)


def outbox_report(session: Session, *, limit: int = 1000) -> dict[str, Any]:
    """Counts by status, and the pending and failed notices (``takedown outbox --json``)."""
    counts = {status.value: 0 for status in NoticeStatus}
    for status, count in session.execute(
        select(Notice.status, func.count()).group_by(Notice.status)
    ):
        counts[NoticeStatus(status).value] = int(count)
    rows = session.execute(
        select(
            Notice.id,
            Notice.kind,
            Notice.recipient_email,
            Notice.status,
            Notice.attempts,
            Notice.send_after,
            Notice.last_error,
        )
        .where(Notice.status.in_((NoticeStatus.PENDING, NoticeStatus.FAILED)))
        .order_by(Notice.id)
        .limit(limit)
    )
    notices = [
        {
            "id": row.id,
            "kind": row.kind,
            "to": row.recipient_email,
            "status": NoticeStatus(row.status).value,
            "attempts": row.attempts,
            "send_after": row.send_after.isoformat() if row.send_after else None,
            "last_error": row.last_error,
        }
        for row in rows
    ]
    return {"counts": counts, "notices": notices}
