"""Cases in the states the recheck meets, written straight into the registry."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from registry.db import unit_of_work
from registry.models import Case, CaseEvent, Check, Resolution
from registry.status import CaseStatus
from urls.normalise import normalise_url

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def open_case(
    session: Session,
    url: str,
    *,
    status: CaseStatus = CaseStatus.NOTIFIED,
    sha256: str | None = None,
    prefix: str | None = "127.0.0.0/24",
    ips: tuple[str, ...] = ("127.0.0.1",),
    next_check_at: datetime | None = None,
    **columns: object,
) -> int:
    """A case in ``status`` whose latest trace found ``prefix`` and ``ips``; returns its id."""
    normalised = normalise_url(url)
    case = Case(
        url=normalised.url,
        url_sha256=hashlib.sha256(normalised.url.encode()).hexdigest(),
        display_url=normalised.display_url,
        host=normalised.host,
        registrable_domain=normalised.registrable_domain,
        status=status,
        is_open=status.is_open,
        category="A",
        content_sha256=sha256,
        confirmed_at=T0 - timedelta(days=1),
        opened_at=T0 - timedelta(days=1),
        next_check_at=next_check_at,
        **columns,
    )
    session.add(case)
    session.flush()
    if prefix is not None or ips:
        result = {"url": normalised.url, "ips": list(ips), "network": {"prefix": prefix}}
        session.add(Resolution(case_id=case.id, ok=True, result=result))
        session.flush()
    return case.id


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def case_row(engine: Engine, case_id: int) -> Case:
    with unit_of_work(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None
        session.expunge(case)
        return case


def check_count(engine: Engine, case_id: int | None = None) -> int:
    with unit_of_work(engine) as session:
        query = select(func.count()).select_from(Check)
        if case_id is not None:
            query = query.where(Check.case_id == case_id)
        return int(session.scalar(query) or 0)


def transitions(engine: Engine, case_id: int) -> list[tuple[str | None, str | None, str]]:
    with unit_of_work(engine) as session:
        rows = session.execute(
            select(CaseEvent.from_status, CaseEvent.to_status, CaseEvent.actor)
            .where(CaseEvent.case_id == case_id)
            .order_by(CaseEvent.id)
        )
        return [(f and f.value, t and t.value, actor) for f, t, actor in rows]
