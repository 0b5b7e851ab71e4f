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
from collections.abc import Collection, Iterator
from datetime import datetime
from itertools import islice
from typing import BinaryIO

from sqlalchemy.orm import Session

from registry.base import utcnow
from registry.bulk.collector import collector_paused
from registry.intake.reader import MAX_FILE_BYTES, RawRow, RowProblem, open_reports
from registry.intake.result import IntakeResult, Rejection
from registry.intake.staging import StagedIntake
from registry.intake.store import store_reports, url_key
from registry.intake.validate import ValidReport, validate_rows

__all__ = ["CHUNK_ROWS", "IntakeResult", "Rejection", "ingest_file", "url_key"]

CHUNK_ROWS = 25_000
"""Rows read, validated and stored at a time: large enough for set operations to pay, small
enough that a chunk's objects stay a few tens of megabytes."""


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
    staged = (
        StagedIntake(session, actor=actor, flow_run_id=flow_run_id, now=now)
        if session.get_bind().dialect.name == "postgresql"
        else None
    )
    first = True
    for chunk in _chunks(rows):
        raw: list[RawRow] = []
        for row in chunk:
            if isinstance(row, RowProblem):
                result.rejected.append(Rejection(row.line, row.report_id, row.error))
            else:
                ignored.update(row.ignored_columns)
                raw.append(row)
        result.received += len(chunk)
        clock.lap("read")
        valid: list[ValidReport] = []
        for outcome in validate_rows(
            raw, categories=categories, default_source=default_source, now=now
        ):
            if isinstance(outcome, RowProblem):
                result.rejected.append(Rejection(outcome.line, outcome.report_id, outcome.error))
            else:
                valid.append(outcome)
        del raw
        clock.lap("validate")
        if staged is not None:
            staged.store(valid, result)
        else:
            store_reports(
                session,
                valid,
                result,
                actor=actor,
                flow_run_id=flow_run_id,
                now=now,
                after_earlier_chunks=not first,
            )
        first = False
        clock.lap("store")
    if staged is not None:
        staged.close()
    session.flush()
    result.ignored_columns = tuple(sorted(ignored))
    result.rejected.sort(key=lambda r: r.line)
    return result


def _chunks(rows: Iterator[RawRow | RowProblem]) -> Iterator[list[RawRow | RowProblem]]:
    while chunk := list(islice(rows, CHUNK_ROWS)):
        yield chunk


class _PhaseClock:
    """Adds the CPU time since the previous lap to a phase's total."""

    def __init__(self, totals: dict[str, float]) -> None:
        self._totals = totals
        self._last = time.process_time()

    def lap(self, phase: str) -> None:
        now = time.process_time()
        self._totals[phase] = self._totals.get(phase, 0.0) + now - self._last
        self._last = now
