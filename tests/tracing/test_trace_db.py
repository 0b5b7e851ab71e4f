"""Tracing cases on the database: claims, case columns, resolutions, evidence, organisations,
contacts, retries with backoff, abandoned claims, and the shared cache (both backends)."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from registry.base import utcnow
from registry.cases import move_case
from registry.db import unit_of_work
from registry.intake.service import ingest_file
from registry.models import Case, CaseEvent, Contact, Evidence, Organisation, Resolution
from registry.status import CaseStatus, EventKind, OrganisationRole
from registry.tracing.cache import DatabaseCache
from registry.tracing.claims import TraceRetry, claim_cases
from registry.tracing.run import resolve_claimed, trace_batch
from registry.tracing.sources import TraceSources
from registry.tracing.store import evidence_bytes, record_results
from sandbox.testing import SandboxHandle
from tests.tracing.world_expect import expected_for

pytestmark = pytest.mark.network
CONTRACT_KEYS = {
    "url",
    "host",
    "registrable_domain",
    "ips",
    "cname_chain",
    "network",
    "registrar",
    "cdn",
    "hosting_country",
    "evidence",
    "errors",
}


def intake_sandbox_reports(engine: Engine, served: SandboxHandle) -> list[int]:
    """The sandbox's confirmed reports, taken in as ``takedown intake`` does."""
    data = Path(served.env["TAKEDOWN_SANDBOX_REPORTS"]).read_bytes()
    with unit_of_work(engine) as session:
        result = ingest_file(
            session,
            data,
            "reports.csv",
            categories=["A", "B", "C", "baseline"],
            default_source="gb",
        )
    assert result.cases_opened == len(served.world.urls)
    return result.case_ids


def test_a_batch_traces_every_case_and_records_it(
    engine: Engine, served: SandboxHandle, sources: TraceSources
) -> None:
    intake_sandbox_reports(engine, served)
    summary = trace_batch(engine, sources, actor="test")
    expected = [expected_for(served.world, url) for url in served.urls]
    assert summary.claimed == 14 and summary.traced + summary.failed == 14
    assert summary.failed == sum(1 for e in expected if not e.traced)

    with unit_of_work(engine) as session:
        cases = session.scalars(select(Case).order_by(Case.id)).all()
        orgs = {o.id: o for o in session.scalars(select(Organisation))}
        for case in cases:
            want = expected_for(served.world, case.url)
            assert case.trace_attempts == 1
            assert case.registrar_name == want.registrar.name
            registrar = orgs[case.registrar_organisation_id or 0]
            assert (registrar.role, registrar.iana_id) == (
                OrganisationRole.REGISTRAR,
                str(want.registrar.iana_id),
            )
            if want.network is None:
                assert case.status is CaseStatus.TRACE_FAILED
                assert case.traced_at is None and case.hosting_network is None
                assert case.next_check_at is not None and case.next_check_at > utcnow()
                continue
            assert case.status is CaseStatus.TRACED and case.traced_at is not None
            assert case.hosting_country == want.hosting_country
            if want.behind_cdn:
                assert case.cdn_name == want.network.name and case.host_organisation_id is None
                assert orgs[case.cdn_organisation_id or 0].role is OrganisationRole.CDN
            else:
                host = orgs[case.host_organisation_id or 0]
                assert (host.role, host.name, host.country) == (
                    OrganisationRole.HOST,
                    want.network.name,
                    want.network.country,
                )
                assert case.cdn_name is None and case.cdn_organisation_id is None

        # One organisation per provider and registrar, however many cases share it.
        hosts = [o for o in orgs.values() if o.role is OrganisationRole.HOST]
        assert len(hosts) == len({o.name for o in hosts})
        for org in orgs.values():
            contacts = session.scalars(
                select(Contact).where(Contact.organisation_id == org.id).order_by(Contact.rank)
            ).all()
            assert [c.rank for c in contacts] == list(range(1, len(contacts) + 1))
            desks = {p.name: p.abuse_email for p in served.world.networks}
            desks.update({r.name: r.abuse_email for r in served.world.registrars})
            assert contacts[0].email == desks[org.name]

        # The stored result is what `takedown resolve --json` prints, evidence rows included.
        resolutions = session.scalars(select(Resolution)).all()
        assert len(resolutions) == 14
        for resolution in resolutions:
            assert set(resolution.result) >= CONTRACT_KEYS
            assert resolution.ok == (resolution.result["network"] is not None)
            rows = session.scalars(
                select(Evidence)
                .where(Evidence.resolution_id == resolution.id)
                .order_by(Evidence.id)
            ).all()
            listed = resolution.result["evidence"]
            assert isinstance(listed, list)
            assert [(e.kind, e.server, e.query, e.sha256) for e in rows] == [
                (e["kind"], e["server"], e["query"], e["sha256"]) for e in listed
            ]
            for row in rows:
                if not row.truncated:
                    assert hashlib.sha256(evidence_bytes(row.raw)).hexdigest() == row.sha256

        failed = session.scalar(select(Case).where(Case.status == CaseStatus.TRACE_FAILED))
        assert failed is not None
        event = session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == failed.id).order_by(CaseEvent.id.desc())
        ).first()
        assert event is not None and event.to_status is CaseStatus.TRACE_FAILED
        assert "dns: SERVFAIL" in event.reason

    # Nothing is due any more: the failed case waits for its next attempt.
    assert trace_batch(engine, sources, actor="test").claimed == 0


def test_a_failed_trace_is_retried_later_with_a_growing_delay(
    engine: Engine, served: SandboxHandle, sources: TraceSources
) -> None:
    intake_sandbox_reports(engine, served)
    retry = TraceRetry(first_delay=timedelta(minutes=10), analyst_after=2)
    trace_batch(engine, sources, actor="test", retry=retry)
    with unit_of_work(engine) as session:
        failed = session.scalars(select(Case).where(Case.status == CaseStatus.TRACE_FAILED)).one()
        first_due = failed.next_check_at
        assert first_due is not None and not failed.needs_analyst
    # Once due, it is claimed again (and only it), fails again, and waits twice as long.
    later = first_due + timedelta(seconds=1)
    summary = trace_batch(engine, sources, actor="test", retry=retry, now=later)
    assert (summary.claimed, summary.failed) == (1, 1)
    assert summary.cache_loaded > 0  # the first batch's answers came from the database
    with unit_of_work(engine) as session:
        again = session.get_one(Case, failed.id)
        assert again.trace_attempts == 2 and again.status is CaseStatus.TRACE_FAILED
        assert again.next_check_at == later + timedelta(minutes=20)
        assert again.needs_analyst and again.analyst_reason == "tracing failed 2 times"
        moves = session.scalars(
            select(CaseEvent.to_status)
            .where(CaseEvent.case_id == failed.id, CaseEvent.kind == EventKind.TRANSITION)
            .order_by(CaseEvent.id)
        ).all()
        assert moves == [
            CaseStatus.TRACING,
            CaseStatus.TRACE_FAILED,
            CaseStatus.TRACING,
            CaseStatus.TRACE_FAILED,
        ]


def test_an_abandoned_claim_is_taken_over_after_its_lease(
    engine: Engine, served: SandboxHandle, sources: TraceSources
) -> None:
    case_ids = intake_sandbox_reports(engine, served)
    now = utcnow()
    with unit_of_work(engine) as session:  # a worker claims two cases, then dies
        dead = claim_cases(session, limit=2, actor="dead worker", now=now)
    assert [c.id for c in dead] == case_ids[:2]
    summary = trace_batch(engine, sources, actor="test", now=now + timedelta(minutes=1))
    assert summary.claimed == len(case_ids) - 2  # those two still leased: left alone
    summary = trace_batch(engine, sources, actor="test", now=now + timedelta(minutes=6))
    assert (summary.claimed, summary.traced) == (2, 2)
    with unit_of_work(engine) as session:
        case = session.get_one(Case, dead[0].id)
        assert case.status is CaseStatus.TRACED and case.trace_attempts == 2
        notes = session.scalars(
            select(CaseEvent.reason).where(
                CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.NOTE
            )
        ).all()
        assert notes == ["claimed again: the previous trace did not finish within its lease"]


def test_a_case_withdrawn_during_its_trace_is_left_withdrawn(
    engine: Engine, served: SandboxHandle, sources: TraceSources
) -> None:
    intake_sandbox_reports(engine, served)
    now = utcnow()
    with unit_of_work(engine) as session:
        claimed = claim_cases(session, limit=3, actor="test", now=now)
    with unit_of_work(engine) as session:
        case = session.get_one(Case, claimed[0].id)
        move_case(session, case, CaseStatus.WITHDRAWN, actor="analyst", reason="mistake")
    results, _ = asyncio.run(resolve_claimed(claimed, sources, DatabaseCache()))
    with unit_of_work(engine) as session:
        summary = record_results(session, claimed, results, actor="test", now=utcnow())
    assert (summary.skipped, summary.traced) == (1, 2)
    with unit_of_work(engine) as session:
        assert session.get_one(Case, claimed[0].id).status is CaseStatus.WITHDRAWN
        count = session.scalar(
            select(func.count()).select_from(Resolution).where(Resolution.case_id == claimed[0].id)
        )
        assert count == 0
