"""Reading report files: broken and hostile input gets a line and a reason; good rows live."""

from __future__ import annotations

import json

import pytest

from registry.intake.reader import RawRow, RowProblem, UnreadableFile, read_reports

HEADER = "report_id,url,confirmed_at,category,source\n"


def rows(data: bytes | str, name: str = "") -> list[RawRow | RowProblem]:
    return list(read_reports(data.encode() if isinstance(data, str) else data, name))


def test_csv_rows_carry_the_line_where_they_start() -> None:
    text = (
        HEADER
        + 'r1,http://a.bz/,2026-01-01T00:00:00Z,A,bz\n\n"r2",http://b.bz/,2026-01-01T00:00:00Z,A,bz\n'
    )
    result = rows(text)
    assert [(r.line, r.fields["report_id"]) for r in result if isinstance(r, RawRow)] == [
        (2, "r1"),
        (4, "r2"),
    ]


def test_a_quoted_field_may_span_lines_and_the_next_row_keeps_its_line() -> None:
    text = (
        HEADER.rstrip("\n")
        + ",notes\n"
        + 'r1,http://a.bz/,2026-01-01T00:00:00Z,A,bz,"two\nlines"\nr2,http://b.bz/,2026-01-01T00:00:00Z,A,bz,\n'
    )
    result = rows(text)
    assert all(isinstance(r, RawRow) for r in result)
    assert [r.line for r in result] == [2, 4]
    first = result[0]
    assert isinstance(first, RawRow) and first.fields["notes"] == "two\nlines"


def test_a_bom_is_accepted() -> None:
    result = rows(
        b"\xef\xbb\xbf" + (HEADER + "r1,http://a.bz/,2026-01-01T00:00:00Z,A,bz\n").encode()
    )
    assert isinstance(result[0], RawRow) and result[0].fields["report_id"] == "r1"


def test_utf16_with_a_bom_is_accepted() -> None:
    data = (HEADER + "r1,http://a.bz/,2026-01-01T00:00:00Z,A,bz\n").encode("utf-16")
    result = rows(data)
    assert isinstance(result[0], RawRow) and result[0].fields["url"] == "http://a.bz/"


def test_an_unclosed_quote_loses_only_its_own_line() -> None:
    text = (
        HEADER
        + "r1,http://a.bz/,2026-01-01T00:00:00Z,A,bz\n"
        + 'r2,"http://b.bz/,2026-01-01T00:00:00Z,A,bz\n'
        + "r3,http://c.bz/,2026-01-01T00:00:00Z,A,bz\n"
    )
    result = rows(text)
    problems = [r for r in result if isinstance(r, RowProblem)]
    good = [r.fields["report_id"] for r in result if isinstance(r, RawRow)]
    assert good == ["r1", "r3"]
    assert [(p.line, p.report_id) for p in problems] == [(3, "r2")]
    assert "quoting" in problems[0].error


def test_a_row_in_another_encoding_is_rejected_alone() -> None:
    data = (
        (HEADER + "r1,http://a.bz/,2026-01-01T00:00:00Z,A,bz\n").encode()
        + ("r2,http://b.bz/é,2026-01-01T00:00:00Z,A,bz\n".encode("latin-1"))
        + b"r3,http://c.bz/,2026-01-01T00:00:00Z,A,bz\n"
    )
    result = rows(data)
    assert [r.fields["report_id"] for r in result if isinstance(r, RawRow)] == ["r1", "r3"]
    problem = next(r for r in result if isinstance(r, RowProblem))
    assert problem.line == 3 and "UTF-8" in problem.error


def test_a_row_with_the_wrong_number_of_fields_is_rejected() -> None:
    result = rows(HEADER + "r1,http://a.bz/,2026-01-01T00:00:00Z\n")
    assert isinstance(result[0], RowProblem) and "3 fields" in result[0].error


def test_a_huge_row_is_refused_without_being_parsed() -> None:
    result = rows(HEADER + "r1,http://a.bz/" + "a" * 200_000 + ",2026-01-01T00:00:00Z,A,bz\n")
    assert isinstance(result[0], RowProblem) and "longer than" in result[0].error


def test_unknown_columns_are_reported_and_not_read() -> None:
    result = rows(
        HEADER.rstrip("\n")
        + ",reporter_email\nr1,http://a.bz/,2026-01-01T00:00:00Z,A,bz,x@y.example\n"
    )
    row = result[0]
    assert isinstance(row, RawRow)
    assert row.ignored_columns == ("reporter_email",)
    assert "reporter_email" not in row.fields


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"\n\n  \n", "empty"),
        (b"report_id,url\nr1,http://a.bz/\n", "lacks required column"),
        (b"report_id,url,confirmed_at,category,url\n", "twice"),
        (b"\xff\xfe\x00\xd8", "UTF-16"),
    ],
)
def test_files_that_cannot_be_read_at_all_say_why(data: bytes, reason: str) -> None:
    with pytest.raises(UnreadableFile, match=reason):
        rows(data, "reports.csv")


def test_json_array_positions_are_one_based() -> None:
    doc = [{"report_id": "r1"}, "not an object", {"report_id": "r3", "Extra": 1}]
    result = rows(json.dumps(doc), "x.json")
    assert isinstance(result[0], RawRow) and result[0].line == 1
    assert isinstance(result[1], RowProblem) and result[1].line == 2
    assert isinstance(result[2], RawRow) and result[2].ignored_columns == ("extra",)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('[{"report_id": "r1"}', "not valid JSON"),
        ('{"report_id": "r1"}', "array"),
        ("[" * 100_000 + "]" * 100_000, "JSON"),
    ],
)
def test_broken_json_arrays_are_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(UnreadableFile, match=reason):
        rows(text, "x.json")


def test_json_lines_reject_bad_lines_and_keep_the_rest() -> None:
    text = '{"report_id": "r1"}\n\n{broken\n[1, 2]\n{"report_id": "r5"}\n'
    result = rows(text, "x.jsonl")
    assert [(type(r).__name__, r.line) for r in result] == [
        ("RawRow", 1),
        ("RowProblem", 3),
        ("RowProblem", 4),
        ("RawRow", 5),
    ]


def test_format_is_sniffed_when_the_name_does_not_say() -> None:
    assert isinstance(rows('[{"report_id": "r1"}]')[0], RawRow)
    assert isinstance(rows('{"report_id": "r1"}\n')[0], RawRow)
