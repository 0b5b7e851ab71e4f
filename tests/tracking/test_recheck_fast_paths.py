"""The recorder's fast paths give what the plain ones give (on SQLite and on PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from hosting.probe.fetch import request_head
from registry.db import unit_of_work
from registry.models import Case, Resolution
from registry.status import CheckOutcome
from registry.tracking.claims import traced_hosting
from registry.tracking.decide import TracedHosting, TrackingPolicy
from registry.tracking.service import ProbeReport, record_checks
from registry.tracking.write import write_tracking
from tests.tracking.cases import T0, case_row, open_case

POLICY = TrackingPolicy(removal_confirmations=3, removal_spacing=timedelta(minutes=5))
TRACKING = (
    "last_check_at",
    "last_outcome",
    "consecutive_removed",
    "next_check_at",
    "needs_analyst",
    "analyst_reason",
    "updated_at",
)


def _tracking_rows(ids: list[int]) -> list[dict[str, Any]]:
    """Varied values: instants shared and not, in UTC and in another zone, NULLs, flags."""
    elsewhere = timezone(timedelta(hours=-5))
    rows = []
    for n, case_id in enumerate(ids):
        at = T0 + timedelta(seconds=n % 3)
        rows.append(
            {
                "id": case_id,
                "last_check_at": at if n % 2 else at.astimezone(elsewhere),
                "last_outcome": list(CheckOutcome)[n % len(CheckOutcome)],
                "consecutive_removed": n % 4,
                "next_check_at": None if n % 5 == 0 else at + timedelta(minutes=15),
                "needs_analyst": n % 2 == 0,
                "analyst_reason": None if n % 3 else f"reason {n}: 'quoted', {{braced}}",
                "updated_at": at,
            }
        )
    return rows


def test_bulk_tracking_update_stores_what_the_plain_orm_update_stores(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        bulk = [open_case(session, f"http://a.example.bz/bulk/{n}") for n in range(12)]
        plain = [open_case(session, f"http://a.example.bz/plain/{n}") for n in range(12)]
    with unit_of_work(engine) as session:
        write_tracking(session, _tracking_rows(bulk))
        session.execute(update(Case), _tracking_rows(plain))
    for fast, slow in zip(bulk, plain, strict=True):
        fast_row, slow_row = case_row(engine, fast), case_row(engine, slow)
        assert [getattr(fast_row, c) for c in TRACKING] == [getattr(slow_row, c) for c in TRACKING]
    assert case_row(engine, bulk[1]).last_check_at == T0 + timedelta(seconds=1)


@pytest.mark.parametrize(
    ("prefix", "ips", "address", "covered"),
    [
        ("127.0.0.0/24", ("127.0.0.1",), "127.0.0.9", True),
        ("127.0.0.0/24", ("127.0.0.1",), "10.0.0.1", False),
        (None, ("127.0.0.1", "::1"), "::1", True),
        (None, ("127.0.0.1",), "127.0.0.2", False),
        ("2001:db8::/32", (), "2001:db8::5", True),
    ],
)
def test_traced_hosting_reads_the_prefix_and_addresses_the_trace_wrote(
    engine: Engine, prefix: str | None, ips: tuple[str, ...], address: str, covered: bool
) -> None:
    with unit_of_work(engine) as session:
        case_id = open_case(session, "http://a.example.bz/t", prefix=prefix, ips=ips)
        found = traced_hosting(session, [case_id])[case_id]
    assert found == TracedHosting(prefix, ips)
    assert found.covers(address) is covered


def test_a_prefix_that_is_not_text_covers_nothing_as_before(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        case_id = open_case(session, "http://a.example.bz/n", ips=())
        # A malformed trace: the prefix is a number. It used to be read as no prefix at all.
        resolution = session.scalars(select(Resolution).filter_by(case_id=case_id)).one()
        resolution.result = {"ips": [], "network": {"prefix": 24}}
        session.flush()
        found = traced_hosting(session, [case_id])[case_id]
    assert found.covers("127.0.0.1") is TracedHosting(None, ()).covers("127.0.0.1") is None


def _report(case_id: int, minutes: int) -> ProbeReport:
    return ProbeReport(case_id, CheckOutcome.REMOVED, T0 + timedelta(minutes=minutes), 404)


def test_two_reports_of_a_case_in_one_batch_count_as_two_batches_would(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        together = open_case(session, "http://a.example.bz/together")
        apart = open_case(session, "http://a.example.bz/apart")
        single = open_case(session, "http://a.example.bz/single")
    with unit_of_work(engine) as session:
        record_checks(
            session,
            [_report(together, 6), _report(single, 0), _report(together, 0)],
            policy=POLICY,
        )
    for minutes in (0, 6):
        with unit_of_work(engine) as session:
            record_checks(session, [_report(apart, minutes)], policy=POLICY)
    fast, slow = case_row(engine, together), case_row(engine, apart)
    assert fast.consecutive_removed == slow.consecutive_removed == 2
    assert [getattr(fast, c) for c in TRACKING] == [getattr(slow, c) for c in TRACKING]
    assert case_row(engine, single).consecutive_removed == 1
    assert fast.last_check_at == T0.astimezone(UTC) + timedelta(minutes=6)


@pytest.mark.parametrize("field", ["target", "host_header", "user_agent"])
@pytest.mark.parametrize("bad", ["\r\nX-Injected: 1", "\n", "\r", "\x00"])
def test_request_head_refuses_a_control_character_in_any_value(field: str, bad: str) -> None:
    values = {"target": "/a", "host_header": "a.example.bz", "user_agent": "UA/1"}
    values[field] += bad
    with pytest.raises(ValueError, match="control character"):
        request_head(values["target"], values["host_header"], values["user_agent"])


def test_request_head_is_the_plain_get_it_always_was() -> None:
    head = request_head("/a?b=1", "a.example.bz:8080", "UA/1", keep_alive=True)
    assert head == (
        b"GET /a?b=1 HTTP/1.1\r\nHost: a.example.bz:8080\r\nUser-Agent: UA/1\r\n"
        b"Accept: */*\r\nAccept-Encoding: identity\r\nConnection: keep-alive\r\n\r\n"
    )
