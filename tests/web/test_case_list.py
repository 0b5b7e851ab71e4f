"""The case list's filters and keyset paging, checked against a brute-force reading of the rows.

Each filter combination is listed page by page and compared with the cases a plain Python
filter picks, on both databases; age filters are run on both plans (walking ids, and fetching
a sparse age range through its index), which must give the same pages.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from registry import queries
from registry.db import unit_of_work
from registry.models import Case, Notice, notice_cases
from registry.queries import Age, CaseFilter, list_cases
from registry.status import CaseStatus, NoticeStatus
from registry.users import Principal, Role

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
AGENCY = "nl-hotline"
STATUSES = (CaseStatus.NEW, CaseStatus.NOTIFIED, CaseStatus.REMOVED)
COUNTRIES = ("NL", "GB", None)
HOSTS = ("a.example", "b.example")


@dataclass(frozen=True)
class Seeded:
    id: int
    status: CaseStatus
    country: str | None
    host: str
    opened_at: datetime
    referred: bool


def _seed(engine: Engine, count: int = 90) -> list[Seeded]:
    """Cases opened over two months, in an order that is not quite the order of their ids."""
    rng = random.Random(5)
    seeded: list[Seeded] = []
    with unit_of_work(engine) as session:
        notice = Notice(
            kind="hotline_referral",
            status=NoticeStatus.SENT,
            recipient_email="referrals@nl-hotline.example",
            recipient_role="hotline",
            partner_code=AGENCY,
            language="en",
            reason="hosted where the partner operates",
        )
        session.add(notice)
        session.flush()
        for number in range(count):
            # Mostly increasing with the id, with some cases opened out of order.
            age = timedelta(days=60 * (count - number) / count, hours=rng.uniform(-30, 30))
            url = f"http://{HOSTS[number % 2]}/{number}"
            case = Case(
                url=url,
                url_sha256=hashlib.sha256(url.encode()).hexdigest(),
                display_url=url.replace("http", "hxxp"),
                host=HOSTS[number % 2],
                status=STATUSES[number % 3],
                is_open=STATUSES[number % 3].is_open,
                category="A",
                confirmed_at=NOW - age,
                opened_at=NOW - age,
                hosting_country=COUNTRIES[number % 5 % 3],
            )
            session.add(case)
            session.flush()
            referred = number % 4 == 0
            if referred:
                session.execute(notice_cases.insert().values(notice_id=notice.id, case_id=case.id))
            seeded.append(
                Seeded(
                    case.id, case.status, case.hosting_country, case.host, case.opened_at, referred
                )
            )
    return seeded


def _admits(row: Seeded, filters: CaseFilter, user: Principal) -> bool:
    if user.role is Role.LIAISON and not row.referred:
        return False
    if filters.status is not None and row.status is not filters.status:
        return False
    if filters.country and row.country != filters.country:
        return False
    if filters.host and row.host != filters.host:
        return False
    if filters.age is not Age.ANY:
        direction, span = queries._AGE_BOUNDS[filters.age]
        newer = row.opened_at >= NOW - span
        return newer if direction == "newer" else not newer
    return True


def _pages(session: Session, user: Principal, filters: CaseFilter, limit: int) -> Iterator[int]:
    before = None
    for _ in range(200):  # far more pages than any listing here has
        page = list_cases(session, user, filters, before=before, limit=limit, now=NOW)
        assert len(page.rows) <= limit
        yield from (row.id for row in page.rows)
        if page.next_before is None:
            return
        assert page.rows, "a page that promises a next page is never empty"
        before = page.next_before
    pytest.fail("paging did not end")


USERS = (Principal(1, "analyst", Role.ANALYST, None), Principal(2, "nl", Role.LIAISON, AGENCY))
FILTERS = [
    CaseFilter(status=status, country=country, host=host, age=age)
    for status, country, host, age in itertools.product(
        (None, CaseStatus.NOTIFIED), (None, "NL"), (None, "a.example"), list(Age)
    )
]


@pytest.mark.parametrize("sparse_limit", [-1, 10_000], ids=["walk-ids", "sparse-age-range"])
def test_every_filter_pages_through_exactly_the_matching_cases(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, sparse_limit: int
) -> None:
    seeded = _seed(engine)
    # -1: an age range is never "few", so ids are walked; 10,000: always, so it is sorted.
    monkeypatch.setattr(queries, "SPARSE_AGE_ROWS", sparse_limit)
    with Session(engine) as session:
        for user, filters in itertools.product(USERS, FILTERS):
            expected = sorted((r.id for r in seeded if _admits(r, filters, user)), reverse=True)
            assert list(_pages(session, user, filters, limit=7)) == expected, (user, filters)


def test_an_age_filter_that_admits_nothing_gives_an_empty_page(engine: Engine) -> None:
    _seed(engine, count=10)
    analyst = USERS[0]
    with Session(engine) as session:
        long_ago = list_cases(session, analyst, CaseFilter(age=Age.DAY), now=NOW + timedelta(1000))
        assert long_ago.rows == [] and long_ago.next_before is None
        before_any = list_cases(
            session, analyst, CaseFilter(age=Age.OVER_MONTH), now=NOW - timedelta(days=90)
        )
        assert before_any.rows == [] and before_any.next_before is None


def test_the_sparse_age_probe_reads_the_opened_at_index_even_without_statistics(
    engine: Engine,
) -> None:
    """90,000 cases opened at once, never analysed, and an age bound that admits none of them:
    PostgreSQL, guessing that a third of the table matched, used to scan all of it (50 ms and
    more a list). The probe must take the opened_at index on both databases."""
    opened = (NOW - timedelta(hours=1)).isoformat()
    numbers = (
        "SELECT n FROM generate_series(1, 90000) AS n"
        if engine.dialect.name == "postgresql"
        else "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 90000) "
        "SELECT n FROM s"
    )
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO cases (url, url_sha256, display_url, host, status, is_open, "
                "escalation_level, needs_analyst, category, trace_attempts, confirmed_at, "
                "opened_at, updated_at) "
                "SELECT 'http://bulk.example/' || n, 'bulk-' || n, "
                "'hxxp://bulk[.]example/' || n, 'bulk.example', 'new', true, 0, false, 'A', 0, "
                f":opened, :opened, :opened FROM ({numbers}) AS numbers"
            ),
            {"opened": opened},
        )
    if engine.dialect.name == "postgresql":
        # The table's size known, its columns' statistics not: as after a bulk load.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM cases"))
    probe = queries.sparse_probe(Case.opened_at < NOW - timedelta(days=7))
    sql = str(probe.compile(engine, compile_kwargs={"literal_binds": True}))
    explain = "EXPLAIN" if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN"
    with engine.connect() as connection:
        plan = "\n".join(str(row[-1]) for row in connection.execute(text(f"{explain} {sql}")))
        assert connection.execute(probe).scalar_one() == 0
    assert "ix_cases_opened_at" in plan, plan
