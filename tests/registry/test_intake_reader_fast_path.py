"""The reader's fast path for lines without quotes gives exactly what the csv module gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from registry.intake.reader import (
    RawRow,
    RowProblem,
    _collect_record,
    _csv_rows,
    _has_surrogates,
    _parse_record,
    _split_unquoted,
    read_csv,
)

# Separators, every line break ``str.splitlines`` knows, blanks, a NUL and an undecodable byte.
UNQUOTED = "ab1,, \t\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\x00\udcff\\é"


@settings(max_examples=500, deadline=None)
@given(st.text(UNQUOTED, max_size=60))
def test_a_line_without_quotes_splits_as_the_csv_module_reads_it(text: str) -> None:
    for line in text.splitlines(keepends=True):
        if line.strip():
            assert _split_unquoted(line) == _parse_record(line)


def _reference_rows(text: str) -> list[RawRow | RowProblem]:
    """The general path alone: every record joined and parsed by the csv module."""
    lines = text.splitlines(keepends=True)
    columns = ["report_id", "url", "extra"]
    out: list[RawRow | RowProblem] = []
    index = 1
    while index < len(lines):
        if not lines[index].strip():
            index += 1
            continue
        end, record = _collect_record(lines, index)
        parsed = None if record is None else _parse_record(record)
        if parsed is None or record is None:
            out.append(RowProblem(index + 1, "broken"))
            index += 1
            continue
        if _has_surrogates(record):
            out.append(RowProblem(index + 1, "utf-8"))
        elif len(parsed) != len(columns):
            out.append(RowProblem(index + 1, "count"))
        else:
            fields = dict(zip(columns[:2], parsed[:2], strict=True))
            out.append(RawRow(index + 1, fields, ("extra",)))
        index = end
    return out


def _shape(rows: list[RawRow | RowProblem]) -> list[object]:
    return [(r.line, r.fields) if isinstance(r, RawRow) else (r.line, "problem") for r in rows]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.text(UNQUOTED + '"', max_size=12), max_size=8))
def test_csv_rows_match_the_general_path_line_for_line(rows: list[str]) -> None:
    text = "report_id,url,extra\n" + "\n".join(rows)
    lines = text.splitlines(keepends=True)
    columns = ["report_id", "url", "extra"]
    fast = list(_csv_rows([lines[1:]], 2, columns, ("extra",)))
    assert _shape(fast) == _shape(_reference_rows(text))


def test_a_plain_row_reads_into_its_fields() -> None:
    rows = list(read_csv("report_id,url,confirmed_at,category\nr1,http://a.bz/,x,A\n"))
    assert rows == [
        RawRow(2, {"report_id": "r1", "url": "http://a.bz/", "confirmed_at": "x", "category": "A"})
    ]
