"""The escalation ladder on both databases: each step once however often it runs, registrar
and police told on escalation, the analyst flag with its reason, the clock of a new round, and
cases that are held, removed, or being verified as removed left alone."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from itertools import pairwise

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from notices.directory import Directory
from notices.mail.message import NoticeComposer
from registry.db import unit_of_work
from registry.escalation.service import ANALYST_PREFIX, ladder_of
from registry.models import AuditEntry, Case, CaseEvent, Notice, notice_cases
from registry.notifying.service import notify_cases
from registry.status import CaseStatus, EventKind, NoticeStatus
from tests.demo.conftest import EscalateRun
from tests.notify.seed import MONDAY, Hosting, traced_case

HOST = "abuse@host.example"
REGISTRAR = "abuse@registrar.example"


def _notify_and_send(
    engine: Engine, directory: Directory, composer: NoticeComposer, ids: list[int], at: datetime
) -> None:
    """Queue the cases' due notices and mark every pending one sent at ``at``."""
    with unit_of_work(engine) as session:
        notify_cases(session, ids, directory=directory, composer=composer, actor="t", now=at)
        _mark_sent(session, at)


def _mark_sent(session: Session, at: datetime) -> None:
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


def _ladder_events(session: Session) -> list[CaseEvent]:
    query = select(CaseEvent).where(CaseEvent.kind == EventKind.ESCALATION).order_by(CaseEvent.id)
    return list(session.scalars(query))


def _ladder_notices(session: Session, after_id: int) -> list[Notice]:
    return list(session.scalars(select(Notice).where(Notice.id > after_id).order_by(Notice.id)))


def test_every_step_happens_once_however_often_the_ladder_runs(
    engine: Engine, directory: Directory, composer: NoticeComposer, run_escalate: EscalateRun
) -> None:
    ladder = ladder_of(directory)
    with unit_of_work(engine) as session:
        ids = [traced_case(session, f"http://files.host.example/{n}.jpg") for n in range(2)]
    _notify_and_send(engine, directory, composer, ids, MONDAY)
    with unit_of_work(engine) as session:
        first_notices = max(session.scalars(select(Notice.id)))

    # Every six hours for ten days, several times each: one step per case and run, so two
    # steps due at once (the analyst flag and a reminder) take two runs; a third finds nothing.
    end = MONDAY + ladder.analyst_after + timedelta(days=3)
    now = MONDAY
    while now <= end:
        taken = [run_escalate(now).cases for _ in range(3)]
        assert taken[-1] == 0, (now, taken)
        with unit_of_work(engine) as session:
            _mark_sent(session, now)
        now += timedelta(hours=6)

    with unit_of_work(engine) as session:
        events = _ladder_events(session)
        notices = _ladder_notices(session, first_notices)
        cases = list(session.scalars(select(Case).where(Case.id.in_(ids))))
        audited = list(session.scalars(select(AuditEntry.detail)))
    keys = Counter((e.case_id, (e.detail or {})["key"]) for e in events)
    assert keys and max(keys.values()) == 1
    for case_id in ids:
        steps = [(e.at, (e.detail or {})["step"]) for e in events if e.case_id == case_id]
        kinds = Counter(step for _, step in steps)
        assert kinds["escalation"] == 1 and kinds["analyst"] == 1 and kinds["reminder"] >= 3
        at = dict((step, when) for when, step in steps if step != "reminder")
        assert at["escalation"] - MONDAY >= ladder.escalate_after
        assert at["analyst"] - MONDAY >= ladder.analyst_after
        told = sorted(when for when, step in steps if step != "analyst")
        gaps = [b - a for a, b in pairwise(told)]
        assert all(gap >= ladder.reminder_every for gap in gaps)
    # Grouped: one notice per recipient and step covers both cases.
    by_kind = Counter((n.kind, n.recipient_email) for n in notices)
    assert by_kind[("registrar_suspension", REGISTRAR)] == 1
    assert by_kind[("police_referral", "liaison@us-police.example")] == 1
    assert by_kind[("escalation", HOST)] == 1
    reminders = sum(1 for e in events if (e.detail or {})["step"] == "reminder")
    assert by_kind[("reminder", HOST)] * len(ids) == reminders
    assert len({n.dedupe_key for n in notices}) == len(notices)
    for case in cases:
        assert case.escalation_level == 2 and case.needs_analyst
        assert case.analyst_reason and case.analyst_reason.startswith(ANALYST_PREFIX)
        assert case.status is CaseStatus.NOTIFIED
    changes = [d for d in audited if d.get("action") in ("escalation", "analyst")]
    assert len(changes) == 2 * len(ids)


def test_notices_wait_for_the_sending_window(
    engine: Engine, directory: Directory, composer: NoticeComposer, run_escalate: EscalateRun
) -> None:
    ladder = ladder_of(directory)
    with unit_of_work(engine) as session:
        ids = [traced_case(session, "http://files.host.example/a.jpg")]
    _notify_and_send(engine, directory, composer, ids, MONDAY)
    saturday = MONDAY + timedelta(days=5)  # past escalate_after, on a quiet day
    assert saturday - MONDAY >= ladder.escalate_after
    summary = run_escalate(saturday)
    assert summary.escalations == 1 and summary.notices == 3
    with unit_of_work(engine) as session:
        waiting = list(session.scalars(select(Notice).where(Notice.status == NoticeStatus.PENDING)))
    assert len(waiting) == 3
    assert all(n.send_after is not None and n.send_after > saturday for n in waiting)


def test_held_removed_verifying_and_unsent_cases_are_not_escalated(
    engine: Engine, directory: Directory, composer: NoticeComposer, run_escalate: EscalateRun
) -> None:
    with unit_of_work(engine) as session:
        held = traced_case(session, "http://uploads.host.example/gb.jpg", Hosting(country="GB"))
        removed = traced_case(session, "http://files.host.example/gone.jpg")
        unsent = traced_case(session, "http://files.host.example/later.jpg")
        verifying = traced_case(session, "http://files.host.example/going.jpg")
    _notify_and_send(engine, directory, composer, [held, removed, verifying], MONDAY)
    with unit_of_work(engine) as session:
        # Notified at Monday, but its notices never left (the relay is down, say).
        notify_cases(
            session, [unsent], directory=directory, composer=composer, actor="t", now=MONDAY
        )
        session.execute(update(Case).where(Case.id == unsent).values(first_notice_at=MONDAY))
        session.execute(update(Case).where(Case.id == removed).values(status=CaseStatus.REMOVED))
        # The last check found it gone: its removal is being verified.
        session.execute(update(Case).where(Case.id == verifying).values(consecutive_removed=1))
        statuses = dict(session.execute(select(Case.id, Case.status)).tuples().all())
    assert statuses[held] is CaseStatus.HELD
    for days in (1, 4, 8, 30):
        summary = run_escalate(
            MONDAY + timedelta(days=days), case_ids=[held, removed, unsent, verifying]
        )
        assert summary.cases == 0
    with unit_of_work(engine) as session:
        assert _ladder_events(session) == []


def test_a_new_round_climbs_the_ladder_again_from_its_own_first_notice(
    engine: Engine, directory: Directory, composer: NoticeComposer, run_escalate: EscalateRun
) -> None:
    ladder = ladder_of(directory)
    with unit_of_work(engine) as session:
        ids = [traced_case(session, "http://files.host.example/back.jpg")]
    _notify_and_send(engine, directory, composer, ids, MONDAY)
    assert run_escalate(MONDAY + ladder.escalate_after).escalations == 1
    # Removed, verified, then back: a new round whose notices go out two weeks later.
    back = MONDAY + timedelta(days=14)
    with unit_of_work(engine) as session:
        session.execute(
            update(Case)
            .where(Case.id == ids[0])
            .values(status=CaseStatus.REAPPEARED, notice_round=Case.notice_round + 1)
        )
    _notify_and_send(engine, directory, composer, ids, back)
    assert run_escalate(back + timedelta(hours=1)).cases == 0  # the new round's clock: 1 h
    assert run_escalate(back + ladder.reminder_every).reminders == 1
    summary = run_escalate(back + ladder.escalate_after)
    assert summary.escalations == 1 and summary.by_kind["registrar_suspension"] == 1
    with unit_of_work(engine) as session:
        rounds = Counter(
            ((e.detail or {})["round"], (e.detail or {})["step"]) for e in _ladder_events(session)
        )
    assert rounds[(0, "escalation")] == 1 and rounds[(1, "escalation")] == 1
