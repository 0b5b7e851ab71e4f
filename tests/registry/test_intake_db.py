"""Intake on both databases: one open case per URL, duplicates are no-ops, nothing is lost."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, event, func, select

from registry.cases import move_case
from registry.db import unit_of_work
from registry.intake.service import IntakeResult, ingest_file
from registry.models import Case, CaseEvent, Report
from registry.status import CaseStatus, EventKind
from settings import DEFAULT_CATEGORIES

HEADER = "report_id,url,confirmed_at,category,source,analyst,content_sha256,notes\n"
DIGEST = "ab" * 32


def ingest(engine: Engine, text: str, name: str = "reports.csv") -> IntakeResult:
    with unit_of_work(engine) as session:
        return ingest_file(
            session, text.encode(), name, categories=DEFAULT_CATEGORIES, default_source="local"
        )


def count(engine: Engine, model: type) -> int:
    with unit_of_work(engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_the_json_summary_has_exactly_the_contract_shape(engine: Engine) -> None:
    result = ingest(
        engine,
        HEADER
        + f"r1,http://Example.bz/a,2026-11-20T10:00:00Z,A,bz,ana,{DIGEST},\n"
        + "r2,http://example.bz:80/a#top,2026-11-20T11:00:00+01:00,b,bz,,,\n"
        + "r1,http://example.bz/other,2026-11-20T10:00:00Z,A,bz,,,\n"
        + "r3,file:///etc/passwd,2026-11-20T10:00:00Z,A,bz,,,\n",
    )
    assert json.loads(json.dumps(result.to_json())) == {
        "received": 4,
        "cases_opened": 1,
        "reports_attached": 1,
        "duplicates": 1,
        "rejected": [
            {
                "line": 5,
                "report_id": "r3",
                "error": "url: scheme 'file' is not allowed; only http and https URLs",
            }
        ],
    }


def test_case_holds_normalised_url_earliest_confirmation_and_digest(engine: Engine) -> None:
    ingest(
        engine,
        HEADER
        + "r1,http://EXAMPLE.bz/a,2026-11-20T12:00:00Z,A,bz,,,\n"
        + f"r2,http://example.bz/a,2026-11-20T09:00:00Z,A,ky,,{DIGEST.upper()},\n",
    )
    with unit_of_work(engine) as session:
        case = session.scalars(select(Case)).one()
        assert case.url == "http://example.bz/a"
        assert case.display_url == "hxxp://example[.]bz/a"
        assert case.registrable_domain == "example.bz"
        assert case.status is CaseStatus.NEW and case.is_open
        assert case.confirmed_at == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
        assert case.content_sha256 == DIGEST
        kinds = [e.kind for e in session.scalars(select(CaseEvent).order_by(CaseEvent.id))]
        assert kinds == [EventKind.OPENED, EventKind.REPORT_ATTACHED]


def test_a_repeated_file_is_a_no_op(engine: Engine) -> None:
    text = (
        HEADER
        + "r1,http://a.bz/,2026-11-20T10:00:00Z,A,bz,,,\nr2,http://b.bz/,2026-11-20T10:00:00Z,C,bz,,,\n"
    )
    ingest(engine, text)
    again = ingest(engine, text)
    assert (again.cases_opened, again.reports_attached, again.duplicates) == (0, 0, 2)
    assert count(engine, Case) == 2 and count(engine, Report) == 2


def test_same_report_id_from_another_source_is_a_different_report(engine: Engine) -> None:
    result = ingest(
        engine,
        HEADER
        + "r1,http://a.bz/,2026-11-20T10:00:00Z,A,bz,,,\nr1,http://a.bz/,2026-11-20T10:00:00Z,A,ky,,,\n",
    )
    assert (result.cases_opened, result.reports_attached, result.duplicates) == (1, 1, 0)


def test_a_report_of_an_open_case_attaches_and_a_closed_case_gets_a_successor(
    engine: Engine,
) -> None:
    ingest(engine, HEADER + "r1,http://a.bz/x,2026-11-20T10:00:00Z,A,bz,,,\n")
    attached = ingest(engine, HEADER + "r2,http://a.bz/x,2026-11-21T10:00:00Z,A,bz,,,\n")
    assert (attached.cases_opened, attached.reports_attached) == (0, 1)
    with unit_of_work(engine) as session:
        case = session.scalars(select(Case)).one()
        move_case(session, case, CaseStatus.WITHDRAWN, actor="analyst", reason="mistaken")
    reopened = ingest(engine, HEADER + "r3,http://a.bz/x,2026-11-22T10:00:00Z,A,bz,,,\n")
    assert (reopened.cases_opened, reopened.reports_attached) == (1, 0)
    with unit_of_work(engine) as session:
        statuses = sorted(s.value for s in session.scalars(select(Case.status)))
    assert statuses == ["new", "withdrawn"]


def test_hostile_rows_are_rejected_and_the_good_ones_kept(engine: Engine) -> None:
    bad = [
        "javascript:alert(document.cookie)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "file:///etc/shadow",
        "http://a.bz/" + "x" * 5000,
        "http://localhost/",
    ]
    lines = [f'bad{i},"{url}",2026-11-20T10:00:00Z,A,bz,,,\n' for i, url in enumerate(bad)]
    lines += [
        "bad-date,http://a.bz/1,yesterday,A,bz,,,\n",
        "bad-zone,http://a.bz/2,2026-11-20T10:00:00,A,bz,,,\n",
        "future,http://a.bz/3,2999-01-01T00:00:00Z,A,bz,,,\n",
        "bad-cat,http://a.bz/4,2026-11-20T10:00:00Z,Z,bz,,,\n",
        "bad-hash,http://a.bz/5,2026-11-20T10:00:00Z,A,bz,,nothex,\n",
        "bad-source,http://a.bz/6,2026-11-20T10:00:00Z,A,B Z!,,,\n",
        ",http://a.bz/7,2026-11-20T10:00:00Z,A,bz,,,\n",
        "ok,http://a.bz/fine,2026-11-20T10:00:00Z,A,bz,,,reporter wrote to me@example.org\n",
    ]
    result = ingest(engine, HEADER + "".join(lines))
    assert result.received == 13 and result.cases_opened == 1 and len(result.rejected) == 12
    reasons = {r.report_id: r.error for r in result.rejected}
    assert "javascript" in reasons["bad0"] and "data" in reasons["bad1"]
    assert "limit" in reasons["bad3"] and "time zone" in reasons["bad-zone"]
    assert "future" in reasons["future"] and "category" in reasons["bad-cat"]
    assert "report_id is missing" in reasons[""]
    assert [r.line for r in result.rejected] == sorted(r.line for r in result.rejected)
    with unit_of_work(engine) as session:
        notes = session.scalars(select(Report.notes)).one()
    assert notes is not None and "me@example.org" not in notes


def test_every_row_is_accounted_for_exactly_once(engine: Engine) -> None:
    text = HEADER + "".join(
        f"r{i % 70},http://h{i % 40}.bz/p,2026-11-20T10:00:00Z,A,bz,,,\n" for i in range(200)
    )
    result = ingest(engine, text)
    total = result.cases_opened + result.reports_attached + result.duplicates + len(result.rejected)
    assert total == result.received == 200
    assert result.cases_opened == 40 and count(engine, Case) == 40
    assert count(engine, Report) == 70


def test_json_and_json_lines_take_the_same_fields(engine: Engine) -> None:
    items = [
        {
            "report_id": "j1",
            "url": "http://j.bz/1",
            "confirmed_at": "2026-11-20T10:00:00Z",
            "category": "A",
            "source": "bz",
        },
        {"report_id": "j2", "url": "http://j.bz/2", "confirmed_at": 12, "category": "A"},
    ]
    result = ingest(engine, json.dumps(items), "reports.json")
    assert result.cases_opened == 1
    assert result.rejected[0].line == 2 and "must be text" in result.rejected[0].error
    lines = "\n".join(json.dumps(i | {"report_id": i["report_id"] + "l"}) for i in items)
    result = ingest(engine, lines, "reports.jsonl")
    assert result.reports_attached == 1 and result.rejected[0].line == 2


def test_intake_is_a_bulk_operation(engine: Engine) -> None:
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    text = HEADER + "".join(
        f"r{i},http://bulk{i}.bz/p,2026-11-20T10:00:00Z,A,bz,,,\n" for i in range(3000)
    )
    event.listen(engine, "before_cursor_execute", record)
    try:
        result = ingest(engine, text)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert result.cases_opened == 3000
    # A few statements per 500-1,000 rows, not one per row.
    assert len(statements) < 60, len(statements)


@pytest.mark.parametrize("order", ["same order", "opposite orders"])
def test_two_intakes_racing_on_the_same_urls_open_each_case_once(
    engine: Engine, order: str
) -> None:
    # Two files listing the same URLs in opposite orders take the same keys in opposite orders:
    # unless intake inserts in key order, each waits for the other's lock and one is killed.
    numbers = {"a": list(range(300)), "b": list(range(300))}
    if order == "opposite orders":
        numbers["b"].reverse()
    texts = [
        HEADER
        + "".join(
            f"{who}{i},http://race{i}.bz/,2026-11-20T10:00:00Z,A,bz,,,\n" for i in numbers[who]
        )
        for who in ("a", "b")
    ]
    results: list[IntakeResult] = []
    errors: list[BaseException] = []

    def run(text: str) -> None:
        try:
            results.append(ingest(engine, text))
        except BaseException as exc:  # collected and re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(t,)) for t in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert count(engine, Case) == 300 and count(engine, Report) == 600
    assert sum(r.cases_opened for r in results) == 300
    assert sum(r.reports_attached for r in results) == 300


def test_case_numbers_follow_the_file(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    # Several chunks, and URLs whose keys sort in another order than the file's.
    monkeypatch.setattr("registry.intake.service.CHUNK_ROWS", 7)
    numbers = [17, 3, 42, 8, 1, 99, 23, 5, 64, 12, 31, 2, 77, 40, 6, 18, 90, 11, 54, 29]
    text = HEADER + "".join(
        f"n{n},http://order{n}.bz/,2026-11-20T10:00:00Z,A,bz,,,\n" for n in numbers
    )
    result = ingest(engine, text)
    assert result.cases_opened == len(numbers)
    with unit_of_work(engine) as session:
        urls = list(session.scalars(select(Case.url).order_by(Case.id)))
    assert urls == [f"http://order{n}.bz/" for n in numbers]
