"""Notify on both databases: grouping across cases, held notices and police clearance, routing
gaps, the sending window, new rounds, and re-running as a no-op."""

from __future__ import annotations

import email
import email.policy

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from registry.db import unit_of_work
from registry.models import Case, CaseEvent, Notice, Resolution, notice_cases
from registry.notifying.service import NotHeld, clear_case
from registry.status import CaseStatus, NoticeStatus
from tests.notify.conftest import NotifyRun
from tests.notify.seed import MONDAY, SATURDAY, Hosting, resolution_result, traced_case


def _notices(session: Session) -> list[Notice]:
    return list(session.scalars(select(Notice).order_by(Notice.id)))


def _cases_of(session: Session, notice_id: int) -> list[int]:
    query = select(notice_cases.c.case_id).where(notice_cases.c.notice_id == notice_id)
    return sorted(session.scalars(query))


def test_urls_for_the_same_recipient_and_kind_go_in_one_notice(
    engine: Engine, run_notify: NotifyRun
) -> None:
    with unit_of_work(engine) as session:
        ids = [traced_case(session, f"http://files.host.example/{n}.jpg") for n in range(3)]
        other = traced_case(
            session, "http://elsewhere.example/x", Hosting(host_emails=["abuse@other.example"])
        )
    summary = run_notify()
    assert summary.cases == 4 and summary.notified == 4
    with unit_of_work(engine) as session:
        notices = _notices(session)
        host = [n for n in notices if n.kind == "host_takedown"]
        # The example directory's US rule adds a police referral: one for all four cases.
        police = [n for n in notices if n.kind == "police_referral"]
        assert {n.recipient_email for n in host} == {"abuse@host.example", "abuse@other.example"}
        shared = next(n for n in host if n.recipient_email == "abuse@host.example")
        assert _cases_of(session, shared.id) == ids
        assert len(police) == 1 and _cases_of(session, police[0].id) == [*ids, other]
        assert police[0].partner_code == "us-police" and shared.partner_code is None
        for notice in notices:
            assert notice.status is NoticeStatus.PENDING
            assert notice.send_after == MONDAY
            assert notice.rendered is not None and notice.rendered_sha256
            parsed = email.message_from_string(notice.rendered, policy=email.policy.default)
            assert parsed["Message-ID"] == notice.message_id
            assert parsed["Subject"] == notice.subject
            assert "US" in notice.reason
        assert shared.xarf_json is not None and shared.xarf_json.count('"csam"') == 3
        assert police[0].xarf_json is None
        statuses = session.scalars(select(Case.status).where(Case.id.in_([*ids, other])))
        assert set(statuses) == {CaseStatus.NOTIFIED}


def test_running_notify_again_queues_nothing(engine: Engine, run_notify: NotifyRun) -> None:
    with unit_of_work(engine) as session:
        case_id = traced_case(session, "http://files.host.example/1.jpg")
    first = run_notify()
    assert first.notices == 2
    # Even when a case is offered again (another worker, a retried task), nothing is added.
    again = run_notify(case_ids=[case_id])
    assert again.cases == 0 and again.notices == 0
    with unit_of_work(engine) as session:
        assert session.scalar(select(func.count()).select_from(Notice)) == 2
        events = session.scalar(select(func.count()).where(CaseEvent.case_id == case_id))
        assert events == 1


def test_notices_wait_for_the_sending_window(engine: Engine, run_notify: NotifyRun) -> None:
    with unit_of_work(engine) as session:
        traced_case(session, "http://files.host.example/1.jpg")
    run_notify(now=SATURDAY)
    with unit_of_work(engine) as session:
        after = {n.send_after for n in _notices(session)}
    # Quiet on Saturday and Sunday; the window opens at 08:00 London time (GMT in March).
    assert after == {SATURDAY.replace(day=9, hour=8)}


def test_own_country_is_held_for_police_and_released_when_cleared(
    engine: Engine, run_notify: NotifyRun
) -> None:
    gb = Hosting(country="GB", host_emails=["abuse@albion.example"])
    with unit_of_work(engine) as session:
        first, second = (traced_case(session, f"http://img.albion.example/{n}", gb) for n in "ab")
    summary = run_notify()
    assert summary.held == 2 and summary.notices_held == 1
    with unit_of_work(engine) as session:
        by_kind = {n.kind: n for n in _notices(session)}
        assert by_kind["host_takedown"].status is NoticeStatus.HELD
        assert by_kind["host_takedown"].send_after is None
        assert by_kind["police_referral"].status is NoticeStatus.PENDING
        assert by_kind["police_referral"].partner_code == "gb-police"
        clear_case(session, first, by="DC Smith", now=MONDAY)
    cleared = run_notify()
    assert cleared.cases == 1 and cleared.notified == 1 and cleared.by_kind == {"host_takedown": 1}
    with unit_of_work(engine) as session:
        host = [n for n in _notices(session) if n.kind == "host_takedown"]
        pending = [n for n in host if n.status is NoticeStatus.PENDING]
        assert len(pending) == 1 and _cases_of(session, pending[0].id) == [first]
        assert "police_cleared" in pending[0].reason
        # The held notice still covers the case the police have not cleared yet.
        held = next(n for n in host if n.status is not NoticeStatus.PENDING)
        assert held.status is NoticeStatus.HELD
        assert session.get(Case, second).status is CaseStatus.HELD  # type: ignore[union-attr]
        clear_case(session, second, by="DC Smith", now=MONDAY)
    run_notify()
    with unit_of_work(engine) as session:
        host = [n for n in _notices(session) if n.kind == "host_takedown"]
        assert sorted(n.status for n in host) == sorted(
            [NoticeStatus.PENDING, NoticeStatus.PENDING, NoticeStatus.CANCELLED]
        )
        assert {session.get(Case, c).status for c in (first, second)} == {  # type: ignore[union-attr]
            CaseStatus.NOTIFIED
        }
        with pytest.raises(NotHeld):
            clear_case(session, first, by="DC Smith", now=MONDAY)
    assert run_notify().cases == 0


def test_a_gap_flags_the_case_for_an_analyst(engine: Engine, run_notify: NotifyRun) -> None:
    broken = Hosting(host_emails=["not an address", "abuse@[127.0.0.1]"])
    with unit_of_work(engine) as session:
        case_id = traced_case(session, "http://files.host.example/1.jpg", broken)
    summary = run_notify()
    assert summary.needs_analyst == 1
    with unit_of_work(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None and case.needs_analyst
        assert case.analyst_reason is not None and case.analyst_reason.startswith("notify: ")
        assert "host contact #1" in case.analyst_reason
        # The police referral the US rule adds still goes; the case counts as notified.
        assert [n.kind for n in _notices(session)] == ["police_referral"]
        assert case.status is CaseStatus.NOTIFIED


def test_override_contacts_come_first(engine: Engine, run_notify: NotifyRun) -> None:
    chosen = Hosting(overrides={"host": ["desk@host.example"]})
    with unit_of_work(engine) as session:
        traced_case(session, "http://files.host.example/1.jpg", chosen)
    run_notify()
    with unit_of_work(engine) as session:
        host = next(n for n in _notices(session) if n.kind == "host_takedown")
        assert host.recipient_email == "desk@host.example"


def test_a_moved_case_starts_a_new_round(engine: Engine, run_notify: NotifyRun) -> None:
    with unit_of_work(engine) as session:
        case_id = traced_case(session, "http://files.host.example/1.jpg")
    run_notify()
    with unit_of_work(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None
        # Hosting moved, and the trace found the same desk again: a new round all the same.
        case.status = CaseStatus.TRACED
    second = run_notify()
    assert second.notices == 2
    with unit_of_work(engine) as session:
        rounds = sorted(n.round for n in _notices(session))
        assert rounds == [0, 0, 1, 1]
        assert session.get(Case, case_id).notice_round == 1  # type: ignore[union-attr]
        assert all("moved" in n.reason for n in _notices(session) if n.round == 1)


def test_a_case_behind_a_cdn_asks_the_cdn(engine: Engine, run_notify: NotifyRun) -> None:
    hidden = Hosting(country=None, cdn="Edge CDN", cdn_emails=["abuse@edge.example"])
    with unit_of_work(engine) as session:
        traced_case(session, "http://www.shielded.example/c/1", hidden)
    run_notify()
    with unit_of_work(engine) as session:
        notices = _notices(session)
        assert [(n.kind, n.recipient_email) for n in notices] == [
            ("cdn_request", "abuse@edge.example")
        ]


def test_an_untraceable_domain_is_reported_to_its_registrar_once(
    engine: Engine, run_notify: NotifyRun
) -> None:
    # The name servers fail, but the registrar of the domain is known.
    untraceable = Hosting(country=None, network=None, asn=None, prefix=None, host_emails=())
    with unit_of_work(engine) as session:
        case_id = traced_case(
            session,
            "http://files.broken.example/1.jpg",
            untraceable,
            status=CaseStatus.TRACE_FAILED,
        )
    first = run_notify()
    assert first.notices == 1 and first.notified == 0
    assert run_notify().notices == 0
    with unit_of_work(engine) as session:
        [notice] = _notices(session)
        assert notice.kind == "registrar_untraceable"
        assert notice.recipient_email == "abuse@registrar.example"
        case = session.get(Case, case_id)
        assert case is not None and case.status is CaseStatus.TRACE_FAILED  # still traced again
        assert not case.needs_analyst
        [event] = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)).all()
        assert "registrar_untraceable" in (event.reason or "")
        # The name resolves again: the host is told as in a first round, not a moved one.
        case.status = CaseStatus.TRACED
        found = resolution_result(case.url, case.host, case.registrable_domain, Hosting())
        session.add(Resolution(case_id=case_id, ok=True, result=found, resolved_at=MONDAY))
    run_notify()
    with unit_of_work(engine) as session:
        host = [n for n in _notices(session) if n.kind == "host_takedown"]
        assert [(n.round, n.recipient_email) for n in host] == [(0, "abuse@host.example")]
        assert "first_round" in host[0].reason


def test_an_untraceable_domain_without_a_registrar_waits_for_the_trace(
    engine: Engine, run_notify: NotifyRun
) -> None:
    nobody = Hosting(country=None, network=None, registrar=None)
    with unit_of_work(engine) as session:
        traced_case(
            session, "http://files.broken.example/2.jpg", nobody, status=CaseStatus.TRACE_FAILED
        )
    assert run_notify().cases == 0
