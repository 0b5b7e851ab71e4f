"""Intake: confirmed reports in, one open case per normalised URL, in bulk.

The counts obey ``received == cases_opened + reports_attached + duplicates + len(rejected)``:
every row of the file is accounted for exactly once.

The file is streamed: read (:mod:`.reader`), validated (:mod:`.validate`) and stored a chunk of
rows at a time, so memory stays flat whatever the file's size. Storing is set-based SQL over a
staging table on PostgreSQL (:mod:`.staging`) and bulk statements elsewhere (:mod:`.store`);
either way a later chunk finds what earlier ones stored, as a second file would. Python's
cyclic collector is paused meanwhile (:mod:`registry.bulk.collector`).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from datetime import datetime
from itertools import islice
from typing import BinaryIO

from sqlalchemy.orm import Session

from registry.base import utcnow
from registry.bulk.collector import collector_paused
from registry.intake.reader import MAX_FILE_BYTES, RawRow, ReportRows, RowProblem, open_reports
from registry.intake.result import IntakeResult, Rejection
from registry.intake.staging import StagedIntake
from registry.intake.store import store_reports, url_key
from registry.intake.validate import ValidReport, validate_rows

__all__ = ["CHUNK_ROWS", "IntakeResult", "Rejection", "ingest_file", "url_key"]

CHUNK_ROWS = 25_000
"""Rows read, validated and stored at a time at most: enough for set operations to pay."""
CHUNK_BYTES = 3 << 20
"""Bytes of the file read, validated and stored at a time at most, about: a chunk's objects take
a dozen times its size in memory (rows with long notes fill it before :data:`CHUNK_ROWS`)."""
CHUNK_SLICE_ROWS = 1000
"""Rows taken at a time while filling a chunk, between looks at the bytes read."""


def ingest_file(
    session: Session,
    data: bytes | BinaryIO,
    filename: str = "",
    *,
    categories: Collection[str],
    default_source: str,
    actor: str = "intake",
    flow_run_id: str | None = None,
    now: datetime | None = None,
    phase_cpu: dict[str, float] | None = None,
    max_bytes: int = MAX_FILE_BYTES,
) -> IntakeResult:
    """Validate and store every report in ``data`` (the file's bytes, or a binary stream read
    a chunk at a time); flush, but leave the commit to the caller.

    With ``phase_cpu``, the CPU seconds of this process spent reading, validating and storing
    are added to it under those names (for benchmarks).

    Raises :class:`registry.intake.reader.UnreadableFile` when the file as a whole cannot be
    read (also when it passes ``max_bytes`` part-way: roll back, as the unit of work does).
    """
    stream = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
    with collector_paused():
        return _ingest(
            session,
            stream,
            filename,
            categories=categories,
            default_source=default_source,
            actor=actor,
            flow_run_id=flow_run_id,
            now=now or utcnow(),
            phase_cpu={} if phase_cpu is None else phase_cpu,
            max_bytes=max_bytes,
        )


def _ingest(
    session: Session,
    stream: BinaryIO,
    filename: str,
    *,
    categories: Collection[str],
    default_source: str,
    actor: str,
    flow_run_id: str | None,
    now: datetime,
    phase_cpu: dict[str, float],
    max_bytes: int,
) -> IntakeResult:
    clock = _PhaseClock(phase_cpu)
    result = IntakeResult()
    ignored: set[str] = set()
    rows = open_reports(stream, filename, max_bytes=max_bytes)
    staged: StagedIntake | None = None
    if session.get_bind().dialect.name == "postgresql":
        staged = StagedIntake(session, actor=actor, flow_run_id=flow_run_id, now=now)
        store = _Overlapped(staged.store, phase_cpu)
    else:
        store = _Overlapped(
            _SQLiteStore(session, actor=actor, flow_run_id=flow_run_id, now=now), None
        )
    with store:
        for chunk in _chunks(rows):
            raw: list[RawRow] = []
            for row in chunk:
                if isinstance(row, RowProblem):
                    result.rejected.append(Rejection(row.line, row.report_id, row.error))
                else:
                    ignored.update(row.ignored_columns)
                    raw.append(row)
            result.received += len(chunk)
            del chunk
            clock.lap("read")
            valid: list[ValidReport] = []
            for outcome in validate_rows(
                raw, categories=categories, default_source=default_source, now=now
            ):
                if isinstance(outcome, RowProblem):
                    result.rejected.append(
                        Rejection(outcome.line, outcome.report_id, outcome.error)
                    )
                else:
                    valid.append(outcome)
            del raw
            clock.lap("validate")
            store.submit(valid, result)
            clock.lap("store")
        store.wait()
    if staged is not None:
        staged.close()
    session.flush()
    result.ignored_columns = tuple(sorted(ignored))
    result.rejected.sort(key=lambda r: r.line)
    return result


Write = Callable[[list[ValidReport], IntakeResult], None]


class _SQLiteStore:
    """Stores chunks with :func:`registry.intake.store.store_reports` (bulk statements)."""

    def __init__(
        self, session: Session, *, actor: str, flow_run_id: str | None, now: datetime
    ) -> None:
        self._session = session
        self._actor = actor
        self._flow_run_id = flow_run_id
        self._now = now
        self._first = True

    def __call__(self, reports: list[ValidReport], result: IntakeResult) -> None:
        store_reports(
            self._session,
            reports,
            result,
            actor=self._actor,
            flow_run_id=self._flow_run_id,
            now=self._now,
            after_earlier_chunks=not self._first,
        )
        self._first = False


class _Overlapped:
    """Runs each chunk's write in a writer thread while the next chunk is read and validated,
    one write at a time and in order, when given ``cpu`` (where the writer's CPU seconds go,
    under "store"); else writes in the caller's thread.

    On PostgreSQL the write is mostly the server's work, during which the driver lets go of
    the interpreter: reading and validating the next chunk takes the other core meanwhile.
    The session is only ever used by one thread at a time: the caller does not touch it until
    :meth:`wait` (or leaving the block, which waits even when the caller failed).
    """

    def __init__(self, write: Write, cpu: dict[str, float] | None) -> None:
        self._write = write
        self._cpu = cpu
        self._writer = ThreadPoolExecutor(1, "intake-writer") if cpu is not None else None
        self._pending: Future[None] | None = None

    def __enter__(self) -> _Overlapped:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None:
                self.wait()
            elif self._pending is not None:
                # Let the write in flight finish before the caller rolls the session back.
                futures_wait([self._pending])
        finally:
            if self._writer is not None:
                self._writer.shutdown(wait=True)

    def submit(self, reports: list[ValidReport], result: IntakeResult) -> None:
        if self._writer is None:
            self._write(reports, result)
            return
        self.wait()
        self._pending = self._writer.submit(self._timed, reports, result)

    def wait(self) -> None:
        """Wait for the write in flight; raise what it raised."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def _timed(self, reports: list[ValidReport], result: IntakeResult) -> None:
        started = time.thread_time()
        self._write(reports, result)
        if self._cpu is not None:
            self._cpu["store"] = self._cpu.get("store", 0.0) + time.thread_time() - started


def _chunks(rows: ReportRows) -> Iterator[list[RawRow | RowProblem]]:
    """The rows, :data:`CHUNK_ROWS` or about :data:`CHUNK_BYTES` of the file at a time."""
    while True:
        limit = rows.bytes_read + CHUNK_BYTES
        chunk: list[RawRow | RowProblem] = []
        while len(chunk) < CHUNK_ROWS and rows.bytes_read < limit:
            more = list(islice(rows, min(CHUNK_SLICE_ROWS, CHUNK_ROWS - len(chunk))))
            if not more:
                break
            chunk += more
        if not chunk:
            return
        yield chunk


class _PhaseClock:
    """Adds this thread's CPU time since the previous lap to a phase's total."""

    def __init__(self, totals: dict[str, float]) -> None:
        self._totals = totals
        self._last = time.thread_time()

    def lap(self, phase: str) -> None:
        now = time.thread_time()
        self._totals[phase] = self._totals.get(phase, 0.0) + now - self._last
        self._last = now
