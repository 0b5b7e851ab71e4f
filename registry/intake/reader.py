"""Reading confirmed-report files: CSV with a header, a JSON array, or JSON Lines.

Readers yield one :class:`RawRow` per report, with the line where it starts, or one
:class:`RowProblem` for a part of the file that cannot be read as a report. A damaged row never
takes the rows around it down with it, and nothing is skipped without a :class:`RowProblem`.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, NoReturn

MAX_FILE_BYTES = 512 * 1024 * 1024
"""A report file larger than this is refused, as soon as reading passes it."""
READ_BYTES = 1 << 20
"""Bytes read from a report file at a time."""
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
    """Decode a whole report file held in memory (see :class:`ReportText` for the rules)."""
    return "".join(ReportText(io.BytesIO(data)).chunks())


class ReportText:
    """A report file's text, decoded a chunk at a time: UTF-8 (with or without BOM), or UTF-16
    with a BOM. The size cap is enforced as the bytes are read, not after.

    Undecodable UTF-8 bytes become lone surrogates, so that the rows holding them can be
    rejected one by one with their line number rather than failing the whole file.
    """

    def __init__(
        self, stream: BinaryIO, *, max_bytes: int = MAX_FILE_BYTES, chunk_bytes: int = READ_BYTES
    ) -> None:
        self._stream = stream
        self._max_bytes = max_bytes
        self._chunk_bytes = chunk_bytes
        self.bytes_read = 0

    def chunks(self) -> Iterator[str]:
        """The decoded text, in pieces; raises :class:`UnreadableFile` past the size cap."""
        first = self._read()
        while len(first) < 3 and (more := self._read()):  # enough to see a byte-order mark
            first += more
        if first.startswith((b"\xff\xfe", b"\xfe\xff")):
            decoder = codecs.getincrementaldecoder("utf-16")()
        else:
            if first.startswith(b"\xef\xbb\xbf"):
                first = first[3:]
            decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
        data = first or self._read()
        while True:
            final = not data
            try:
                text = decoder.decode(data, final=final)
            except UnicodeDecodeError:
                raise UnreadableFile("file claims to be UTF-16 but is not") from None
            if text:
                yield text
            if final:
                return
            data = self._read()

    def _read(self) -> bytes:
        data = self._stream.read(self._chunk_bytes)
        self.bytes_read += len(data)
        if self.bytes_read > self._max_bytes:
            raise UnreadableFile(f"file is larger than {self._max_bytes // 2**20} MiB")
        return data


_BREAK_CHARS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
"""Every line break ``str.splitlines`` knows."""
_LINE_BREAKS = frozenset(_BREAK_CHARS)


def split_lines(chunks: Iterable[str]) -> Iterator[list[str]]:
    """The lines of the text in ``chunks`` (with their breaks), a list at a time, exactly as
    ``"".join(chunks).splitlines(keepends=True)`` would give them."""
    carry = ""
    for chunk in chunks:
        lines = (carry + chunk).splitlines(keepends=True)
        last = lines[-1]
        # A line without its break (or a CR whose LF may come next) continues in the next chunk.
        ends = last[-1] in _LINE_BREAKS and last[-1] != "\r"
        carry = "" if ends else lines.pop()
        if lines:
            yield lines
    if carry:
        yield [carry]


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
    """Yield the reports (and the problems) in a report file held in memory."""
    return open_reports(io.BytesIO(data), filename)


def open_reports(
    stream: BinaryIO,
    filename: str = "",
    *,
    max_bytes: int = MAX_FILE_BYTES,
    read_bytes: int = READ_BYTES,
) -> ReportRows:
    """The reports (and the problems) in a report file, read a chunk at a time as they are taken.

    Memory stays flat whatever the file's size. Problems with the file as a whole raise
    :class:`UnreadableFile`: those found in its beginning (empty, no header) at once, the others
    (over the size cap, broken JSON) when reading reaches them.
    """
    text = ReportText(stream, max_bytes=max_bytes, chunk_bytes=read_bytes)
    chunks = text.chunks()
    head: list[str] = []
    for chunk in chunks:
        head.append(chunk)
        if chunk.strip():
            break
    else:
        raise UnreadableFile("file is empty")
    pieces = itertools.chain(head, chunks)
    fmt = detect_format(head[-1], filename)
    if fmt == "json":
        rows = read_json_array(pieces)
    elif fmt == "jsonl":
        rows = read_json_lines(pieces)
    else:
        rows = read_csv(pieces)
    return ReportRows(rows, text)


class ReportRows(Iterator[RawRow | RowProblem]):
    """The rows of a report file being read, and how many of its bytes were read so far."""

    def __init__(self, rows: Iterator[RawRow | RowProblem], text: ReportText) -> None:
        self._rows = rows
        self._text = text

    def __next__(self) -> RawRow | RowProblem:
        return next(self._rows)

    @property
    def bytes_read(self) -> int:
        """Bytes of the file read so far (a read runs ahead of the rows by up to one chunk)."""
        return self._text.bytes_read


def read_csv(text: str | Iterable[str]) -> Iterator[RawRow | RowProblem]:
    """The rows of a CSV file, given whole or as pieces of text."""
    batches = split_lines([text] if isinstance(text, str) else text)
    first: list[str] = []
    header_index = 0
    for batch in batches:
        first = batch
        found = next((i for i, line in enumerate(batch) if line.strip()), None)
        if found is not None:
            header_index += found
            first = batch[found:]
            break
        header_index += len(batch)
    else:
        raise UnreadableFile("file is empty")
    header_line = first[0]
    header = _parse_record(header_line)
    if header is None or _has_surrogates(header_line):
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
    rest = itertools.chain([first[1:]], batches)
    return _csv_rows(rest, header_index + 2, columns, ignored)


def _csv_rows(
    batches: Iterable[list[str]],
    first_line_no: int,
    columns: list[str],
    ignored: tuple[str, ...],
) -> Iterator[RawRow | RowProblem]:
    """The rows in ``batches`` of lines, the first of which is file line ``first_line_no``.

    The lines are held in a window that always reaches at least :data:`MAX_RECORD_LINES`
    past the current one (a quoted record may span that many), so a file of any size is read
    with a window's worth of memory.
    """
    source = iter(batches)
    lines: list[str] = []
    base = first_line_no  # the file line of lines[0]
    index = 0
    exhausted = False
    any_surrogates = False
    while True:
        if not exhausted and len(lines) - index <= MAX_RECORD_LINES:
            if index:
                del lines[:index]
                base += index
                index = 0
            while not exhausted and len(lines) <= MAX_RECORD_LINES:
                batch = next(source, None)
                if batch is None:
                    exhausted = True
                else:
                    # One search of a batch spares a search per row when (as nearly always)
                    # it is clean.
                    any_surrogates = any_surrogates or _has_surrogates("".join(batch))
                    lines.extend(batch)
        if index >= len(lines):
            return
        line_no = base + index
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


def read_json_array(text: str | Iterable[str]) -> Iterator[RawRow | RowProblem]:
    """The objects of a JSON array, given whole or as pieces of text, parsed one at a time."""
    return _json_objects(_JsonArray(iter([text] if isinstance(text, str) else text)).items())


class _JsonArray:
    """Parses a JSON array element by element from pieces of text, holding about one piece."""

    def __init__(self, chunks: Iterator[str]) -> None:
        self._chunks = chunks
        self._buffer = ""
        self._pos = 0
        self._lines_before = 0
        """Line breaks in the text already dropped from the buffer (for error positions)."""
        self._eof = False

    def items(self) -> Iterator[tuple[int, Any]]:
        if self._next_char() != "[":
            yield from self._not_an_array()
            return
        self._pos += 1
        if self._next_char() == "]":
            self._pos += 1
            self._expect_end()
            return
        for position in itertools.count(1):
            yield position, self._value()
            char = self._next_char()
            if char == "]":
                self._pos += 1
                self._expect_end()
                return
            if char != ",":
                self._fail("Expecting ',' delimiter", self._pos)
            self._pos += 1
            if self._next_char() in ("]", ""):
                self._fail("Expecting value", self._pos)

    def _value(self) -> Any:
        while True:
            try:
                value, end = _DECODER.raw_decode(self._buffer, self._pos)
            except json.JSONDecodeError as exc:
                if self._more():
                    continue
                self._fail(exc.msg, exc.pos)
            except RecursionError:
                raise UnreadableFile("the file is not valid JSON: nested too deeply") from None
            # A number cut at the end of the buffer parses, short: read on and parse it again.
            if end == len(self._buffer) and self._more():
                continue
            self._pos = end
            return value

    def _next_char(self) -> str:
        """The next character that is not white space (not consumed), or "" at the end."""
        while True:
            self._pos = _JSON_SPACE.match(self._buffer, self._pos).end()  # type: ignore[union-attr]
            if self._pos < len(self._buffer):
                return self._buffer[self._pos]
            if not self._more():
                return ""

    def _more(self) -> bool:
        """Read the next piece into the buffer, dropping what was consumed; False at the end."""
        if self._eof:
            return False
        chunk = next(self._chunks, None)
        if chunk is None:
            self._eof = True
            return False
        if _has_surrogates(chunk):
            raise UnreadableFile("the JSON file is not valid UTF-8")
        self._lines_before += self._buffer.count("\n", 0, self._pos)
        self._buffer = self._buffer[self._pos :] + chunk
        self._pos = 0
        return True

    def _expect_end(self) -> None:
        if self._next_char():
            self._fail("Extra data", self._pos)

    def _not_an_array(self) -> Iterator[tuple[int, Any]]:
        while self._more():
            pass
        try:
            json.loads(self._buffer)
        except json.JSONDecodeError as exc:
            self._fail(exc.msg, exc.pos)
        except RecursionError:
            raise UnreadableFile("the file is not valid JSON: nested too deeply") from None
        raise UnreadableFile("a JSON report file must hold an array of report objects")
        yield  # a generator, like every reader

    def _fail(self, message: str, pos: int) -> NoReturn:
        line = self._lines_before + self._buffer.count("\n", 0, pos) + 1
        raise UnreadableFile(f"the file is not valid JSON at line {line}: {message}")


_DECODER = json.JSONDecoder()
_JSON_SPACE = re.compile(r"[ \t\n\r]*")


def read_json_lines(text: str | Iterable[str]) -> Iterator[RawRow | RowProblem]:
    """The objects of a JSON Lines file, given whole or as pieces of text."""

    def parsed() -> Iterator[tuple[int, Any]]:
        line_no = 0
        for batch in split_lines([text] if isinstance(text, str) else text):
            for line_with_break in batch:
                line_no += 1
                line = line_with_break.rstrip(_BREAK_CHARS)
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
