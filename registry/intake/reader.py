"""Reading confirmed-report files: CSV with a header, a JSON array, or JSON Lines.

Readers yield one :class:`RawRow` per report, with the line where it starts, or one
:class:`RowProblem` for a part of the file that cannot be read as a report. A damaged row never
takes the rows around it down with it, and nothing is skipped without a :class:`RowProblem`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_RECORD_CHARS = 64 * 1024
"""A CSV record (possibly spanning lines) longer than this is refused, not parsed."""
MAX_RECORD_LINES = 50
"""A quoted CSV field may span lines, but not more than this: past it the quoting is broken."""

FIELDS = (
    "report_id",
    "url",
    "confirmed_at",
    "category",
    "source",
    "analyst",
    "content_sha256",
    "notes",
)
REQUIRED_COLUMNS = ("report_id", "url", "confirmed_at", "category")


class UnreadableFile(ValueError):
    """The file as a whole cannot be read as reports (empty, no header, not JSON …)."""


@dataclass(frozen=True, slots=True)
class RawRow:
    line: int
    """Where the row starts: a file line (CSV header is line 1), or a JSON array position."""
    fields: dict[str, Any]
    ignored_columns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int
    error: str
    report_id: str = ""


def decode(data: bytes) -> str:
    """Decode a report file: UTF-8 (with or without BOM), or UTF-16 with a BOM.

    Undecodable bytes become lone surrogates, so that the rows holding them can be rejected one
    by one with their line number rather than failing the whole file.
    """
    if len(data) > MAX_FILE_BYTES:
        raise UnreadableFile(f"file is larger than {MAX_FILE_BYTES // 2**20} MiB")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise UnreadableFile("file claims to be UTF-16 but is not") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.decode("utf-8", errors="surrogateescape")


def detect_format(text: str, filename: str = "") -> str:
    """``csv``, ``json`` or ``jsonl``, by file extension, else by the first character."""
    name = filename.lower()
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if name.endswith(".json"):
        return "json"
    if name.endswith(".csv"):
        return "csv"
    start = text.lstrip()[:1]
    return {"[": "json", "{": "jsonl"}.get(start, "csv")


def read_reports(data: bytes, filename: str = "") -> Iterator[RawRow | RowProblem]:
    """Yield the reports (and the problems) in a report file of any supported format."""
    text = decode(data)
    if not text.strip():
        raise UnreadableFile("file is empty")
    fmt = detect_format(text, filename)
    if fmt == "json":
        return read_json_array(text)
    if fmt == "jsonl":
        return read_json_lines(text)
    return read_csv(text)


def read_csv(text: str) -> Iterator[RawRow | RowProblem]:
    lines = text.splitlines(keepends=True)
    header_index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_index is None:
        raise UnreadableFile("file is empty")
    header = _parse_record(lines[header_index])
    if header is None or _has_surrogates(lines[header_index]):
        raise UnreadableFile("the CSV header line cannot be read")
    columns = [column.strip().lower() for column in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise UnreadableFile(
            "the CSV header lacks required column(s) "
            + ", ".join(missing)
            + f"; it must name {', '.join(REQUIRED_COLUMNS)}"
        )
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise UnreadableFile(f"the CSV header names column(s) twice: {', '.join(duplicated)}")
    ignored = tuple(c for c in columns if c not in FIELDS)
    # One search of the whole text spares a search per row when (as nearly always) it is clean.
    return _csv_rows(lines, header_index + 1, columns, ignored, _has_surrogates(text))


def _csv_rows(
    lines: list[str],
    start: int,
    columns: list[str],
    ignored: tuple[str, ...],
    any_surrogates: bool,
) -> Iterator[RawRow | RowProblem]:
    index = start
    while index < len(lines):
        line_no = index + 1
        line = lines[index]
        if not line.strip():
            index += 1
            continue
        if '"' not in line and len(line) <= MAX_RECORD_CHARS:
            # Without quotes a record is its own line: no joining, no csv quoting rules.
            index += 1
            record, parsed = line, _split_unquoted(line)
        else:
            end, joined = _collect_record(lines, index)
            maybe = None if joined is None else _parse_record(joined)
            if joined is None or maybe is None:
                # Broken quoting: refuse this line alone and carry on with the next one.
                problem = "the row's quoting is broken (an unclosed or stray '\"')"
                if joined is None and len(line) > MAX_RECORD_CHARS:
                    problem = f"the row is longer than {MAX_RECORD_CHARS} characters"
                yield RowProblem(line_no, problem, _guess_report_id(line))
                index += 1
                continue
            index, record, parsed = end, joined, maybe
        if any_surrogates and _has_surrogates(record):
            yield RowProblem(line_no, "the row is not valid UTF-8 text", _first(parsed))
            continue
        if len(parsed) != len(columns):
            yield RowProblem(
                line_no,
                f"the row has {len(parsed)} fields but the header names {len(columns)}",
                _first(parsed),
            )
            continue
        if ignored:
            fields = {c: v for c, v in zip(columns, parsed, strict=True) if c in FIELDS}
        else:
            fields = dict(zip(columns, parsed, strict=True))
        yield RawRow(line_no, fields, ignored)


def _collect_record(lines: list[str], index: int) -> tuple[int, str | None]:
    """Join physical lines until the quotes balance; (next index, record) or (_, None)."""
    parts: list[str] = []
    size = 0
    quotes = 0
    for offset in range(MAX_RECORD_LINES):
        if index + offset >= len(lines):
            break
        line = lines[index + offset]
        parts.append(line)
        size += len(line)
        quotes += line.count('"')
        if size > MAX_RECORD_CHARS:
            return index + 1, None
        if quotes % 2 == 0:
            return index + offset + 1, "".join(parts)
    return index + 1, None


def _parse_record(record: str) -> list[str] | None:
    try:
        rows = list(csv.reader(io.StringIO(record), strict=True))
    except csv.Error:
        return None
    return rows[0] if len(rows) == 1 else None


def _split_unquoted(line: str) -> list[str]:
    """What :func:`_parse_record` gives for a line without quotes (a property test holds it)."""
    # ``splitlines`` leaves at most one line break, at the end; csv drops it only if CR or LF.
    return line.rstrip("\r\n").split(",")


def _first(fields: list[str]) -> str:
    return fields[0].strip()[:128] if fields else ""


def _guess_report_id(line: str) -> str:
    head = line.split(",", 1)[0].strip().strip('"')
    return "" if _has_surrogates(head) else head[:128]


_SURROGATE = re.compile("[\udc80-\udcff]")


def _has_surrogates(text: str) -> bool:
    """True where :func:`decode` met bytes that are not UTF-8."""
    return _SURROGATE.search(text) is not None


def read_json_array(text: str) -> Iterator[RawRow | RowProblem]:
    if _has_surrogates(text):
        raise UnreadableFile("the JSON file is not valid UTF-8")
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        where = f" at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise UnreadableFile(f"the file is not valid JSON{where}: {detail}") from None
    if not isinstance(document, list):
        raise UnreadableFile("a JSON report file must hold an array of report objects")
    return _json_objects(enumerate(document, start=1))


def read_json_lines(text: str) -> Iterator[RawRow | RowProblem]:
    def parsed() -> Iterator[tuple[int, Any]]:
        for line_no, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            if _has_surrogates(line):
                yield line_no, RowProblem(line_no, "the line is not valid UTF-8 text")
                continue
            try:
                yield line_no, json.loads(line)
            except (json.JSONDecodeError, RecursionError):
                yield line_no, RowProblem(line_no, "the line is not a valid JSON object")

    return _json_objects(parsed())


def _json_objects(items: Iterator[tuple[int, Any]]) -> Iterator[RawRow | RowProblem]:
    for line, item in items:
        if isinstance(item, RowProblem):
            yield item
        elif not isinstance(item, dict):
            yield RowProblem(line, "the entry is not a JSON object")
        else:
            keys = {str(k).lower(): v for k, v in item.items()}
            ignored = tuple(sorted(k for k in keys if k not in FIELDS))
            fields = {k: v for k, v in keys.items() if k in FIELDS}
            yield RawRow(line, fields, ignored)
