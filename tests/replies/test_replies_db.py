"""Replies and bounces on both databases: stored once, matched to their case, and acted on —
a dead address routed around, a ticket quoted in reminders, a recheck brought forward, an
analyst told of a person's reply and of a message matching no case."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from notices.directory import Directory
from notices.mail.message import NoticeComposer
from registry.db import unit_of_work
from registry.escalation.service import escalate_cases, ladder_of
from registry.models import Case, CaseEvent, DeadAddress, InboundMail, Notice, notice_cases
from registry.notifying.service import notify_cases
from registry.replies.reroute import Rerouting
from registry.replies.service import InboxSummary, recent_messages, take_in
from registry.status import EventKind, NoticeStatus
from tests.notify.seed import MONDAY, Hosting, traced_case
from tests.replies.conftest import sample

DEAD = "abuse@host.example"
NEXT = "abuse-2@host.example"
LATER = MONDAY + timedelta(hours=2)


def _send_all(session: Session, at: datetime) -> None:
    pending = select(Notice.id).where(Notice.status == NoticeStatus.PENDING)
    linked = select(notice_cases.c.case_id).where(notice_cases.c.notice_id.in_(pending))
    session.execute(
        update(Case)
        .where(Case.id.in_(linked), Case.first_notice_at.is_(None))
        .values(first_notice_at=at)
    )
    session.execute(
        update(Notice)
        .where(Notice.status == NoticeStatus.PENDING)
        .values(status=NoticeStatus.SENT, sent_at=at)
    )


def _notified_case(
    engine: Engine, directory: Directory, composer: NoticeComposer, url: str, hosting: Hosting
) -> tuple[int, Notice]:
    with unit_of_work(engine) as session:
        case_id = traced_case(session, url, hosting)
        notify_cases(
            session, [case_id], directory=directory, composer=composer, actor="t", now=MONDAY
        )
        _send_all(session, MONDAY)
        notice = session.scalars(
            select(Notice).where(Notice.kind == "host_takedown").order_by(Notice.id.desc())
        ).first()
        assert notice is not None
        session.expunge(notice)
    return case_id, notice


def _take_in(
    engine: Engine, rerouting: Rerouting | None, *messages: bytes, at: datetime = LATER
) -> InboxSummary:
    with unit_of_work(engine) as session:
        return take_in(session, list(messages), mailbox="test", rerouting=rerouting, now=at)


def _reference(case_id: int) -> str:
    return f"TD-{case_id:06d}"


def test_a_permanent_bounce_marks_the_address_dead_and_reroutes_to_the_next_contact(
    engine: Engine, directory: Directory, composer: NoticeComposer, rerouting: Rerouting
) -> None:
    hosting = Hosting(host_emails=[DEAD, NEXT])
    case_id, notice = _notified_case(
        engine, directory, composer, "http://files.host.example/1.jpg", hosting
    )
    bounce = sample(
        "postfix_permanent.eml",
        **{
            "abuse@dead-host__example": DEAD,
            "<notice-17__TD-000042@hotline__example>": str(notice.message_id),
            "TD-000042": _reference(case_id),
        },
    )
    summary = _take_in(engine, rerouting, bounce)
    assert summary.stored == 1 and summary.matched == 1
    assert summary.by_class["bounce_permanent"] == 1
    assert summary.dead_addresses == 1 and summary.rerouted == 1

    with unit_of_work(engine) as session:
        assert list(session.scalars(select(DeadAddress.email))) == [DEAD]
        bounced = session.get(Notice, notice.id)
        assert bounced is not None and bounced.last_error and "bounced" in bounced.last_error
        fresh = session.scalars(select(Notice).where(Notice.status == NoticeStatus.PENDING)).all()
        assert [(n.kind, n.recipient_email) for n in fresh] == [("host_takedown", NEXT)]
        mail = session.scalars(select(InboundMail)).one()
        assert mail.case_id == case_id and mail.notice_id == notice.id
        assert mail.matched_by == "message_id" and not mail.needs_analyst
        assert mail.raw == bounce  # the exact bytes, as evidence
        event = session.scalars(
            select(CaseEvent).where(CaseEvent.kind == EventKind.CORRESPONDENCE)
        ).one()
        assert event.detail is not None and event.detail["inbound_message"] == mail.id
        assert NEXT in event.reason

    # The same bounce read again (another fetch, another mailbox) changes nothing.
    again = _take_in(engine, rerouting, bounce)
    assert again.duplicates == 1 and again.stored == 0 and again.rerouted == 0

    # A later case at the same host is never sent to the dead address.
    with unit_of_work(engine) as session:
        later = traced_case(session, "http://files.host.example/2.jpg", hosting)
        notify_cases(session, [later], directory=directory, composer=composer, actor="t", now=LATER)
        linked = select(notice_cases.c.notice_id).where(notice_cases.c.case_id == later)
        recipients = set(
            session.scalars(select(Notice.recipient_email).where(Notice.id.in_(linked)))
        )
        assert DEAD not in recipients and NEXT in recipients


def test_a_host_with_no_live_contact_left_goes_up_to_the_registrar(
    engine: Engine, directory: Directory, composer: NoticeComposer, rerouting: Rerouting
) -> None:
    case_id, notice = _notified_case(
        engine, directory, composer, "http://files.host.example/3.jpg", Hosting(host_emails=[DEAD])
    )
    bounce = sample(
        "exim_permanent.eml",
        **{
            "abuse@gone-isp__example": DEAD,
            "<notice-30__TD-000044@hotline__example>": str(notice.message_id),
            "TD-000044": _reference(case_id),
        },
    )
    summary = _take_in(engine, rerouting, bounce)
    assert summary.rerouted == 1
    with unit_of_work(engine) as session:
        fresh = session.scalars(select(Notice).where(Notice.status == NoticeStatus.PENDING)).one()
        assert (fresh.kind, fresh.recipient_email) == (
            "registrar_suspension",
            "abuse@registrar.example",
        )


def test_an_acknowledgement_keeps_the_ticket_and_the_reminder_quotes_it(
    engine: Engine, directory: Directory, composer: NoticeComposer, rerouting: Rerouting
) -> None:
    case_id, notice = _notified_case(
        engine, directory, composer, "http://files.host.example/4.jpg", Hosting()
    )
    ack = sample(
        "autoreply_ticket.eml",
        **{
            "<notice-17__TD-000042@hotline__example>": str(notice.message_id),
            "TD-000042": _reference(case_id),
        },
    )
    summary = _take_in(engine, rerouting, ack)
    assert summary.by_class["auto_ack"] == 1 and summary.needs_analyst == 0
    with unit_of_work(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None and case.ticket == "2026031610000123"

    later = MONDAY + ladder_of(directory).reminder_every + timedelta(minutes=1)
    with unit_of_work(engine) as session:
        taken = escalate_cases(
            session, [case_id], directory=directory, composer=composer, now=later, actor="t"
        )
        assert taken.reminders == 1
        reminder = session.scalars(select(Notice).where(Notice.kind == "reminder")).first()
        assert reminder is not None and reminder.rendered is not None
        assert "Your ticket number: 2026031610000123." in reminder.rendered


def test_a_reply_saying_removed_brings_the_recheck_forward_and_asks_an_analyst(
    engine: Engine, directory: Directory, composer: NoticeComposer, rerouting: Rerouting
) -> None:
    url = "http://files.host.example/5.jpg"
    case_id, _ = _notified_case(engine, directory, composer, url, Hosting())
    with unit_of_work(engine) as session:
        session.execute(
            update(Case).where(Case.id == case_id).values(next_check_at=LATER + timedelta(hours=1))
        )
    # No reference, no In-Reply-To: only the (defanged) URL of the open case ties it.
    reply = sample(
        "reply_removed.eml",
        **{
            "In-Reply-To: <notice-17__TD-000042@hotline__example>\n": "",
            "References: <notice-17__TD-000042@hotline__example>\n": "",
            "TD-000042": "our ref",
            "files__quickhost[__]example/a/b__jpg": "files.host[.]example/5.jpg",
            "files__quickhost__example/a/b__jpg": "files.host.example/5.jpg",
        },
    )
    summary = _take_in(engine, rerouting, reply)
    assert summary.matched == 1 and summary.rechecks == 1 and summary.needs_analyst == 1
    with unit_of_work(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None and case.next_check_at == LATER
        assert case.needs_analyst and case.analyst_reason and "replied" in case.analyst_reason
        mail = session.scalars(select(InboundMail)).one()
        assert mail.matched_by == "url" and mail.claims_removed
        assert [a["filename"] for a in mail.attachments] == ["screenshot.png"]
        queue = recent_messages(session, queue_only=True)
        assert [m["case"] for m in queue] == [_reference(case_id)]


def test_a_message_matching_no_case_waits_for_an_analyst(engine: Engine) -> None:
    summary = _take_in(engine, None, sample("unmatched.eml"))
    assert summary.unmatched == 1 and summary.needs_analyst == 1
    with unit_of_work(engine) as session:
        (listed,) = recent_messages(session, queue_only=True)
        assert listed["case"] is None and listed["class"] == "reply"


def test_a_bounce_returning_none_of_our_notices_marks_nothing_dead(
    engine: Engine, directory: Directory, composer: NoticeComposer, rerouting: Rerouting
) -> None:
    case_id, _ = _notified_case(
        engine, directory, composer, "http://files.host.example/6.jpg", Hosting()
    )
    # Anyone can mail the inbox a bounce naming a real recipient: without the Message-ID of a
    # notice we sent to that address it kills no address.
    forged = sample(
        "postfix_permanent.eml",
        **{"abuse@dead-host__example": DEAD, "TD-000042": _reference(case_id)},
    )
    summary = _take_in(engine, rerouting, forged)
    assert summary.dead_addresses == 0 and summary.rerouted == 0 and summary.needs_analyst == 1
    with unit_of_work(engine) as session:
        assert session.scalars(select(DeadAddress)).all() == []
        case = session.get(Case, case_id)
        assert case is not None and case.needs_analyst
        assert case.analyst_reason and "no address marked dead" in case.analyst_reason
