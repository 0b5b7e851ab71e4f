"""Delivery from the outbox on both databases, to a real SMTP relay on loopback: one connection
per batch, retries with backoff, permanent failures, a relay that goes away and comes back, and
claims abandoned by a dead worker."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select, update

from notices.transport.eml import EmlOutboxTransport
from notices.transport.smtp import SmtpSettings, SmtpTimeouts, SmtpTransport
from registry.db import unit_of_work
from registry.delivery.batch import deliver_batch
from registry.delivery.outbox import (
    ATTEMPT_STARTED,
    OUTCOME_UNKNOWN,
    DeliveryPolicy,
    claim_due,
    outbox_report,
    start_attempt,
)
from registry.models import Case, Notice
from registry.status import NoticeStatus
from tests.notices.relay import MailboxBehaviour
from tests.notify.conftest import NotifyRun
from tests.notify.outbox_seed import queue_notices
from tests.notify.seed import MONDAY
from tests.notify.slow_relay import RestartableRelay

QUICK = SmtpTimeouts(connect=2.0, command=5.0)
POLICY = DeliveryPolicy(first_delay=timedelta(minutes=1), lease=timedelta(minutes=10))


def _smtp(port: int) -> SmtpTransport:
    return SmtpTransport(SmtpSettings(host="127.0.0.1", port=port), timeouts=QUICK)


def _notices(engine: Engine) -> list[Notice]:
    with unit_of_work(engine) as session:
        return list(session.scalars(select(Notice).order_by(Notice.id)))


def _clock(at: datetime):  # type: ignore[no-untyped-def]
    return lambda: at


def test_every_notice_is_sent_once_over_one_connection(
    engine: Engine, run_notify: NotifyRun
) -> None:
    case_ids = queue_notices(engine, run_notify, 5)
    relay = RestartableRelay().start()
    try:
        with _smtp(relay.port) as transport:
            summary = deliver_batch(
                engine, transport, worker="w1", policy=POLICY, clock=_clock(MONDAY)
            )
        assert summary.sent == 5 and summary.sent_by_kind == {"host_takedown": 5}
        assert relay.handler.connections == 1
        notices = _notices(engine)
        assert Counter(relay.message_ids()) == Counter(n.message_id for n in notices)
        received = {m.rcpt_tos[0]: m.data for m in relay.handler.received}
        for notice in notices:
            assert notice.status is NoticeStatus.SENT and notice.attempts == 1
            assert notice.sent_at == MONDAY and notice.last_error is None
            assert notice.claimed_by is None
            # Exactly the stored bytes left: the evidence hash is the hash of what was sent.
            assert notice.rendered is not None
            assert received[notice.recipient_email] == notice.rendered.encode()
        with unit_of_work(engine) as session:
            stamps = session.scalars(select(Case.first_notice_at).where(Case.id.in_(case_ids)))
            assert set(stamps) == {MONDAY}
    finally:
        relay.close()


def test_refusals_retry_later_or_fail_for_good(engine: Engine, run_notify: NotifyRun) -> None:
    queue_notices(engine, run_notify, 3)
    behaviour = MailboxBehaviour(
        refuse={
            "abuse@host0.example": "450 4.2.1 Mailbox busy",
            "abuse@host1.example": "550 5.1.1 No such user",
        }
    )
    relay = RestartableRelay(behaviour=behaviour).start()
    try:
        with _smtp(relay.port) as transport:
            summary = deliver_batch(
                engine,
                transport,
                worker="w1",
                policy=POLICY,
                clock=_clock(MONDAY),
                rng=random.Random(1),
            )
        assert (summary.sent, summary.retrying, summary.failed) == (1, 1, 1)
        by_to = {n.recipient_email: n for n in _notices(engine)}
        busy, unknown = by_to["abuse@host0.example"], by_to["abuse@host1.example"]
        assert busy.status is NoticeStatus.PENDING and busy.attempts == 1
        assert busy.last_error is not None and "450" in busy.last_error
        assert busy.send_after is not None
        assert MONDAY + timedelta(minutes=1) <= busy.send_after <= MONDAY + timedelta(seconds=72)
        assert unknown.status is NoticeStatus.FAILED and "550" in (unknown.last_error or "")
        with unit_of_work(engine) as session:
            flagged = session.scalars(select(Case).where(Case.needs_analyst)).all()
            assert len(flagged) == 1 and "failed" in (flagged[0].analyst_reason or "")
        # Not due yet: nothing is claimed; once due, the busy mailbox is tried again.
        behaviour.refuse.clear()
        with _smtp(relay.port) as transport:
            early = deliver_batch(engine, transport, worker="w2", clock=_clock(MONDAY))
            later = MONDAY + timedelta(minutes=2)
            retry = deliver_batch(engine, transport, worker="w2", clock=_clock(later))
        assert early.claimed == 0 and retry.sent == 1
        assert by_to["abuse@host0.example"].id in [
            n.id for n in _notices(engine) if n.attempts == 2
        ]
    finally:
        relay.close()


def test_nothing_is_lost_while_the_relay_is_down(engine: Engine, run_notify: NotifyRun) -> None:
    queue_notices(engine, run_notify, 4)
    relay = RestartableRelay().start()
    port = relay.port
    try:
        relay.stop_listening()
        with _smtp(port) as transport:
            down = deliver_batch(
                engine, transport, worker="w1", policy=POLICY, clock=_clock(MONDAY)
            )
        # The first notice was tried and waits; the others were not tried and wait with it.
        assert (down.sent, down.retrying, down.released) == (0, 1, 3)
        notices = _notices(engine)
        assert {n.status for n in notices} == {NoticeStatus.PENDING}
        assert sorted(n.attempts for n in notices) == [0, 0, 0, 1]
        assert all(n.send_after and n.send_after > MONDAY for n in notices)
        relay.listen(port)
        later = MONDAY + timedelta(hours=1)
        with _smtp(port) as transport:
            back = deliver_batch(engine, transport, worker="w2", policy=POLICY, clock=_clock(later))
        assert back.sent == 4
        assert Counter(relay.message_ids()) == Counter(n.message_id for n in notices)
        assert max(Counter(relay.message_ids()).values()) == 1
    finally:
        relay.close()


def test_a_dead_workers_claims_are_requeued_or_marked_unknown(
    engine: Engine, run_notify: NotifyRun
) -> None:
    queue_notices(engine, run_notify, 3)
    with unit_of_work(engine) as session:
        claimed = claim_due(session, worker="dead", limit=10, now=MONDAY)
    with unit_of_work(engine) as session:
        assert start_attempt(session, claimed[0], worker="dead", now=MONDAY)
    # The worker dies here, during the first message's SMTP transaction.
    relay = RestartableRelay().start()
    try:
        with _smtp(relay.port) as transport:
            within = deliver_batch(engine, transport, worker="w2", clock=_clock(MONDAY))
            assert within.claimed == 0  # the lease still holds
            later = MONDAY + POLICY.lease + timedelta(seconds=1)
            after = deliver_batch(engine, transport, worker="w2", clock=_clock(later))
        assert (after.requeued, after.unknown, after.sent) == (2, 1, 2)
        notices = {n.id: n for n in _notices(engine)}
        lost = notices[claimed[0].id]
        assert lost.status is NoticeStatus.FAILED and lost.last_error == OUTCOME_UNKNOWN
        assert lost.message_id not in relay.message_ids()
        assert len(relay.message_ids()) == 2
        with unit_of_work(engine) as session:
            flagged = session.scalars(select(Case).where(Case.needs_analyst)).all()
            assert len(flagged) == 1 and OUTCOME_UNKNOWN in (flagged[0].analyst_reason or "")
    finally:
        relay.close()


def test_a_lost_claim_is_not_sent(engine: Engine, run_notify: NotifyRun) -> None:
    queue_notices(engine, run_notify, 1)
    with unit_of_work(engine) as session:
        claimed = claim_due(session, worker="slow", limit=10, now=MONDAY)
    with unit_of_work(engine) as session:
        session.execute(update(Notice).values(claimed_by="someone-else"))
    with unit_of_work(engine) as session:
        assert not start_attempt(session, claimed[0], worker="slow", now=MONDAY)


def test_without_a_relay_notices_become_eml_files(
    engine: Engine, run_notify: NotifyRun, tmp_path: Path
) -> None:
    queue_notices(engine, run_notify, 2)
    with EmlOutboxTransport(tmp_path / "outbox") as transport:
        summary = deliver_batch(engine, transport, worker="w1", clock=_clock(MONDAY))
    assert summary.sent == 2
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 2
    stored = {n.rendered.encode() for n in _notices(engine) if n.rendered}
    assert {f.read_bytes() for f in files} == stored


def test_the_outbox_report_lists_pending_and_failed(engine: Engine, run_notify: NotifyRun) -> None:
    queue_notices(engine, run_notify, 2)
    with unit_of_work(engine) as session:
        claimed = claim_due(session, worker="w", limit=1, now=MONDAY)
        start_attempt(session, claimed[0], worker="w", now=MONDAY)
    with unit_of_work(engine) as session:
        report = outbox_report(session)
    assert report["counts"]["pending"] == 1 and report["counts"]["sending"] == 1
    assert report["counts"]["sent"] == 0
    [pending] = report["notices"]
    assert set(pending) == {"id", "kind", "to", "status", "attempts", "send_after", "last_error"}
    assert pending["status"] == "pending" and pending["kind"] == "host_takedown"
    assert pending["to"].startswith("abuse@host") and pending["attempts"] == 0
    assert ATTEMPT_STARTED not in str(report["notices"])
