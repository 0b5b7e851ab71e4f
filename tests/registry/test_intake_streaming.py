"""Intake streams its file: any split of the bytes reads alike, the size cap holds while reading,
and a file stored a chunk at a time ends as if stored at once."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from registry.db import unit_of_work
from registry.intake import service
from registry.intake.reader import UnreadableFile, open_reports, read_reports
from registry.intake.service import ingest_file
from registry.models import Case, CaseEvent
from registry.status import EventKind
from settings import DEFAULT_CATEGORIES

CSV = (
    "report_id,url,confirmed_at,category,notes\r\n"
    'r1,http://a.bz/1,2026-11-20T10:00:00Z,A,"two\r\nlines"\r\n'
    "\r\n"
    'r2,http://a.bz/é,2026-11-20T10:00:00Z,A,"unclosed\n'
    "r3,http://a.bz/3,2026-11-20T10:00:00Z,A,x\u2028y\n"
    "r4,http://a.bz/4,2026-11-20T10:00:00Z,A,last"
)
ITEMS = [{"report_id": f"j{i}", "url": f"http://j.bz/{i}", "n": 12345678} for i in range(5)]
FILES = [
    ("r.csv", CSV.encode()),
    ("r.csv", b"\xef\xbb\xbf" + CSV.encode()),
    ("r.csv", CSV.encode("utf-16")),
    ("r.csv", CSV.encode().replace(b"r3,", b"r3\xff,")),
    ("r.json", json.dumps(ITEMS, indent=1).encode()),
    ("r.json", (json.dumps(ITEMS) + "  \n").encode()),
    ("r.jsonl", "\n".join(map(json.dumps, ITEMS)).encode() + b"\n\n{broken\r\n[1]"),
]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(FILES), st.integers(1, 64))
def test_any_read_size_gives_the_rows_of_the_whole_file(file: tuple[str, bytes], size: int) -> None:
    name, data = file
    whole = list(open_reports(io.BytesIO(data), name, read_bytes=len(data) + 1))
    assert list(open_reports(io.BytesIO(data), name, read_bytes=size)) == whole


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('[{"report_id": "r1"}, {"report_id": "r2"} {"x": 1}]', "line 1: Expecting ','"),
        ('[{"report_id": "r1"},\n]', "line 2: Expecting value"),
        ('[{"report_id": "r1"}]\n\n]', "line 3: Extra data"),
        ('[{"report_id": "r1"}, {"report_id": "r2\n', "not valid JSON at line 1"),
    ],
)
def test_broken_json_is_refused_with_its_line_whatever_the_read_size(
    text: str, reason: str
) -> None:
    for size in (1, 5, 4096):
        with pytest.raises(UnreadableFile, match=reason):
            list(open_reports(io.BytesIO(text.encode()), "x.json", read_bytes=size))


def test_the_size_cap_stops_reading_before_the_end_of_the_file() -> None:
    line = b"r,http://a.bz/,2026-11-20T10:00:00Z,A\n"
    data = b"report_id,url,confirmed_at,category\n" + line * 1000
    read = io.BytesIO(data)
    rows = open_reports(read, "r.csv", max_bytes=4096, read_bytes=1024)
    with pytest.raises(UnreadableFile, match="larger than"):
        list(rows)
    assert read.tell() <= 4096 + 1024
    assert list(read_reports(data, "r.csv"))  # under the default cap it reads


def test_a_file_over_the_cap_stores_nothing(engine: Engine) -> None:
    data = b"report_id,url,confirmed_at,category\n" + b"".join(
        f"r{i},http://cap{i}.bz/,2026-11-20T10:00:00Z,A\n".encode() for i in range(2000)
    )
    with pytest.raises(UnreadableFile), unit_of_work(engine) as session:
        ingest_file(
            session,
            io.BytesIO(data),
            "r.csv",
            categories=DEFAULT_CATEGORIES,
            default_source="local",
            max_bytes=len(data) - 1,
        )
    with unit_of_work(engine) as session:
        assert session.scalars(select(Case)).all() == []


def test_a_file_stored_in_chunks_ends_as_if_stored_at_once(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "CHUNK_ROWS", 3)
    digest = "cd" * 32
    text = "report_id,url,confirmed_at,category,source,content_sha256\n" + "".join(
        [
            "r1,http://a.bz/x,2026-11-20T12:00:00Z,A,bz,\n",
            "bad,file:///x,2026-11-20T12:00:00Z,A,bz,\n",
            "r2,http://b.bz/,2026-11-20T12:00:00Z,A,bz,\n",
            "r1,http://a.bz/x,2026-11-20T12:00:00Z,A,bz,\n",  # a duplicate in a later chunk
            f"r3,http://a.bz/x,2026-11-20T09:00:00Z,A,bz,{digest}\n",  # earlier, with digest
            "r4,http://c.bz/,2026-11-20T12:00:00Z,A,bz,\n",
            "r5,http://b.bz/,2026-11-20T12:00:00Z,A,ky,\n",
        ]
    )
    with unit_of_work(engine) as session:
        result = ingest_file(
            session, text.encode(), "r.csv", categories=DEFAULT_CATEGORIES, default_source="l"
        )
    assert result.to_json() == {
        "received": 7,
        "cases_opened": 3,
        "reports_attached": 2,
        "duplicates": 1,
        "rejected": [
            {"line": 3, "report_id": "bad", "error": result.rejected[0].error},
        ],
    }
    assert len(result.case_ids) == 5 and result.case_ids[0] == result.case_ids[2]
    with unit_of_work(engine) as session:
        case = session.scalars(select(Case).where(Case.url == "http://a.bz/x")).one()
        assert case.confirmed_at == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
        assert case.content_sha256 == digest
        kinds = session.scalars(
            select(CaseEvent.kind).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
        ).all()
        assert kinds == [EventKind.OPENED, EventKind.REPORT_ATTACHED]
