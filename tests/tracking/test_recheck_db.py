"""Rechecks against the real registry (SQLite and PostgreSQL) and a real loopback content host."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from sqlalchemy import Engine, select

from hosting.probe.prober import ProbeLimits
from registry import progress
from registry.db import unit_of_work
from registry.models import Check
from registry.status import CaseStatus, CheckOutcome
from registry.tracking.claims import RecheckTarget, claim_due_cases, claim_due_targets
from registry.tracking.decide import TrackingPolicy
from registry.tracking.run import ProberFactory, run_recheck
from tests.support.watcher import RecordingWatcher
from tests.tracking.cases import T0, Clock, case_row, check_count, open_case, transitions
from tests.tracking.conftest import ITEM_SHA256, make_prober
from tests.tracking.loopback import DnsServer, Route, WebServer

POLICY = TrackingPolicy(
    removal_confirmations=3,
    removal_spacing=timedelta(minutes=5),
    recheck_interval=timedelta(minutes=15),
)


def prober_for(resolver: DnsServer) -> ProberFactory:
    return lambda: make_prober(resolver, allowed=("127.0.0.0/8",), limits=ProbeLimits(timeout=3))


def test_claims_take_only_due_cases_in_checked_statuses_and_push_them_forward(
    engine: Engine,
) -> None:
    with unit_of_work(engine) as session:
        due = open_case(session, "http://a.example.bz/1", next_check_at=T0 - timedelta(seconds=1))
        never = open_case(session, "http://a.example.bz/2", status=CaseStatus.TRACED)
        later = open_case(session, "http://a.example.bz/3", next_check_at=T0 + timedelta(hours=1))
        new = open_case(session, "http://a.example.bz/4", status=CaseStatus.NEW)
        done = open_case(session, "http://a.example.bz/5", status=CaseStatus.CLOSED)
    with unit_of_work(engine) as session:
        claimed = claim_due_cases(session, policy=POLICY, limit=10, now=T0)
    assert claimed == sorted([due, never])
    assert case_row(engine, due).next_check_at == T0 + POLICY.claim_lease
    with unit_of_work(engine) as session:
        assert claim_due_cases(session, policy=POLICY, limit=10, now=T0) == []
    assert {later, new, done}.isdisjoint(claimed)


def test_a_claim_returns_each_case_s_url_and_digest_in_id_order(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        first = open_case(session, "http://a.example.bz/1", sha256=ITEM_SHA256)
        second = open_case(session, "http://a.example.bz/2")
    with unit_of_work(engine) as session:
        claimed = claim_due_targets(session, policy=POLICY, limit=10, now=T0)
    assert claimed == [
        RecheckTarget(first, "http://a.example.bz/1", ITEM_SHA256),
        RecheckTarget(second, "http://a.example.bz/2", None),
    ]
    assert case_row(engine, second).next_check_at == T0 + POLICY.claim_lease
    with unit_of_work(engine) as session:
        assert claim_due_targets(session, policy=POLICY, limit=10, now=T0) == []


def test_removal_is_verified_after_three_spaced_removed_checks(
    engine: Engine, web: WebServer, resolver: DnsServer
) -> None:
    web.routes["/gone"] = Route(404, b"")
    with unit_of_work(engine) as session:
        case_id = open_case(session, web.url("/gone"), sha256=ITEM_SHA256)
    clock = Clock()
    statuses = []
    watcher = RecordingWatcher()
    for _ in range(4):
        with progress.watched_by(watcher):
            run_recheck(engine, prober_for(resolver), policy=POLICY, clock=clock)
        case = case_row(engine, case_id)
        statuses.append((case.status, case.consecutive_removed, case.next_check_at))
        clock.advance(POLICY.removal_spacing)
    assert statuses[0] == (CaseStatus.NOTIFIED, 1, T0 + POLICY.removal_spacing)
    assert statuses[1][:2] == (CaseStatus.NOTIFIED, 2)
    verified_at = T0 + 2 * POLICY.removal_spacing
    assert statuses[2] == (CaseStatus.REMOVED, 3, verified_at + POLICY.removed_recheck_interval)
    assert statuses[3] == statuses[2]  # not due yet: nothing claimed, nothing probed
    case = case_row(engine, case_id)
    assert case.removal_verified_at == verified_at and case.last_outcome is CheckOutcome.REMOVED
    assert check_count(engine, case_id) == 3 and web.paths()["/gone"] == 3
    assert transitions(engine, case_id) == [("notified", "removed", "flow:recheck")]
    # Each run counted the due cases first and reported each checked batch.
    assert watcher.begun == [("recheck", 1)] * 3 + [("recheck", 0)]
    assert watcher.advanced == [1, 1, 1] and watcher.ended == 4


def test_content_back_after_removal_reopens_the_case_for_a_new_round(
    engine: Engine, web: WebServer, resolver: DnsServer
) -> None:
    with unit_of_work(engine) as session:
        case_id = open_case(
            session,
            web.url("/item"),
            status=CaseStatus.REMOVED,
            sha256=ITEM_SHA256,
            removal_verified_at=T0 - timedelta(days=2),
            consecutive_removed=5,
        )
    summary = run_recheck(engine, prober_for(resolver), policy=POLICY, clock=Clock())
    case = case_row(engine, case_id)
    assert (case.status, case.notice_round, case.consecutive_removed) == (
        CaseStatus.REAPPEARED,
        1,
        0,
    )
    assert case.next_check_at == T0 + POLICY.recheck_interval
    assert (summary.reappeared, summary.checked) == (1, 1)
    assert transitions(engine, case_id) == [("removed", "reappeared", "flow:recheck")]


def test_content_served_outside_the_traced_network_marks_the_case_moved(
    engine: Engine, web: WebServer, resolver: DnsServer
) -> None:
    with unit_of_work(engine) as session:
        moved = open_case(
            session, web.url("/item"), sha256=ITEM_SHA256, prefix="127.16.0.0/24", ips=()
        )
        stayed = open_case(session, web.url("/item?x=1"), sha256=ITEM_SHA256, prefix="127.0.0.0/8")
    web.routes["/item?x=1"] = web.routes["/item"]
    summary = run_recheck(engine, prober_for(resolver), policy=POLICY, clock=Clock())
    assert case_row(engine, moved).status is CaseStatus.MOVED
    assert case_row(engine, stayed).status is CaseStatus.NOTIFIED
    assert summary.moved == 1


def test_changed_content_flags_the_case_for_an_analyst(
    engine: Engine, web: WebServer, resolver: DnsServer
) -> None:
    web.routes["/swapped"] = Route(200, b"another file now")
    with unit_of_work(engine) as session:
        case_id = open_case(session, web.url("/swapped"), sha256=ITEM_SHA256)
    summary = run_recheck(engine, prober_for(resolver), policy=POLICY, clock=Clock())
    case = case_row(engine, case_id)
    assert case.needs_analyst and case.last_outcome is CheckOutcome.CHANGED
    assert (
        case.analyst_reason is not None and "other than the confirmed item" in case.analyst_reason
    )
    assert summary.needs_analyst == 1 and case.status is CaseStatus.NOTIFIED
    with unit_of_work(engine) as session:
        check = session.scalars(select(Check).where(Check.case_id == case_id)).one()
        assert (check.http_status, check.address, check.bytes_read) == (200, "127.0.0.1", 16)
        assert check.sha256 is not None and check.sha256 != ITEM_SHA256


def test_two_rechecks_at_once_never_probe_a_case_twice_and_lose_nothing(
    engine: Engine, web: WebServer, resolver: DnsServer
) -> None:
    cases = 120
    with unit_of_work(engine) as session:
        for i in range(cases):
            web.routes[f"/item/{i}"] = Route(200, b"x", delay=0.01)
            open_case(session, web.url(f"/item/{i}"))
    summaries = []
    errors: list[BaseException] = []

    def recheck() -> None:
        try:
            summaries.append(
                run_recheck(
                    engine,
                    prober_for(resolver),
                    policy=POLICY,
                    batch_size=15,
                    workers=2,
                    clock=Clock(),
                )
            )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=recheck) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    seen = web.paths()
    assert len(seen) == cases and set(seen.values()) == {1}
    assert sum(s.checked for s in summaries) == cases
    assert check_count(engine) == cases
    with unit_of_work(engine) as session:
        per_case = Counter(session.scalars(select(Check.case_id)))
    assert len(per_case) == cases and set(per_case.values()) == {1}
