"""Claiming a moved case for tracing forgets its cached DNS answers, whoever runs the trace."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select, update

from registry.base import utcnow
from registry.db import unit_of_work
from registry.intake.service import ingest_file
from registry.models import CacheEntry, Case
from registry.status import CaseStatus
from registry.tracing.claims import claim_cases
from settings import DEFAULT_CATEGORIES

REPORTS = (
    "report_id,url,confirmed_at,category,source\n"
    "m1,http://moved.example-host.bz/a,2026-11-20T10:00:00Z,A,bz\n"
    "s1,http://stays.example-host.bz/b,2026-11-20T10:00:00Z,A,bz\n"
)


def test_a_moved_case_is_traced_from_fresh_dns_answers(engine: Engine) -> None:
    now = utcnow()
    with unit_of_work(engine) as session:
        ingest_file(
            session, REPORTS.encode(), "r.csv", categories=DEFAULT_CATEGORIES, default_source="bz"
        )
        session.execute(
            update(Case).where(Case.host == "moved.example-host.bz").values(status=CaseStatus.MOVED)
        )
        session.execute(
            update(Case)
            .where(Case.host == "stays.example-host.bz")
            .values(status=CaseStatus.NOTIFIED)
        )
        for host in ("moved.example-host.bz", "stays.example-host.bz"):
            session.add(
                CacheEntry(
                    kind="dns",
                    key=host,
                    value={"a": ["127.16.0.10"]},
                    negative=False,
                    expires_at=now + timedelta(minutes=5),
                )
            )
    with unit_of_work(engine) as session:
        claimed = claim_cases(session, limit=10, actor="test", now=now)
    assert [c.host for c in claimed] == ["moved.example-host.bz"]
    with unit_of_work(engine) as session:
        cached = set(session.scalars(select(CacheEntry.key).where(CacheEntry.kind == "dns")))
    assert cached == {"stays.example-host.bz"}
