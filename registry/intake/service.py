"""Intake: confirmed reports in, one open case per normalised URL, in bulk.

The counts obey ``received == cases_opened + reports_attached + duplicates + len(rejected)``:
every row of the file is accounted for exactly once.

Reading (:mod:`.reader`), validating (:mod:`.validate`) and storing (:mod:`.store`) are done
one after the other over the whole file, with Python's cyclic collector paused meanwhile
(:mod:`.collector`).
"""

from __future__ import annotations

import time
from collections.abc import Collection
from datetime import datetime

from sqlalchemy.orm import Session

from registry.base import utcnow
from registry.bulk.collector import collector_paused
from registry.intake.reader import RawRow, RowProblem, read_reports
from registry.intake.result import IntakeResult, Rejection
from registry.intake.store import store_reports, url_key
from registry.intake.validate import ValidReport, validate_rows

__all__ = ["IntakeResult", "Rejection", "ingest_file", "url_key"]


def ingest_file(
    session: Session,
    data: bytes,
    filename: str = "",
    *,
    categories: Collection[str],
    default_source: str,
    actor: str = "intake",
    flow_run_id: str | None = None,
    now: datetime | None = None,
    phase_cpu: dict[str, float] | None = None,
) -> IntakeResult:
    """Validate and store every report in ``data``; flush, but leave the commit to the caller.

    With ``phase_cpu``, the CPU seconds of this process spent reading, validating and storing
    are added to it under those names (for benchmarks).

    Raises :class:`registry.intake.reader.UnreadableFile` when the file as a whole cannot be read.
    """
    with collector_paused():
        return _ingest(
            session,
            data,
            filename,
            categories=categories,
            default_source=default_source,
            actor=actor,
            flow_run_id=flow_run_id,
            now=now or utcnow(),
            phase_cpu={} if phase_cpu is None else phase_cpu,
        )


def _ingest(
    session: Session,
    data: bytes,
    filename: str,
    *,
    categories: Collection[str],
    default_source: str,
    actor: str,
    flow_run_id: str | None,
    now: datetime,
    phase_cpu: dict[str, float],
) -> IntakeResult:
    clock = _PhaseClock(phase_cpu)
    result = IntakeResult()
    raw: list[RawRow] = []
    ignored: set[str] = set()
    for row in read_reports(data, filename):
        result.received += 1
        if isinstance(row, RowProblem):
            result.rejected.append(Rejection(row.line, row.report_id, row.error))
        else:
            ignored.update(row.ignored_columns)
            raw.append(row)
    clock.lap("read")
    valid: list[ValidReport] = []
    for outcome in validate_rows(
        raw, categories=categories, default_source=default_source, now=now
    ):
        if isinstance(outcome, RowProblem):
            result.rejected.append(Rejection(outcome.line, outcome.report_id, outcome.error))
        else:
            valid.append(outcome)
    result.ignored_columns = tuple(sorted(ignored))
    clock.lap("validate")
    store_reports(session, valid, result, actor=actor, flow_run_id=flow_run_id, now=now)
    result.rejected.sort(key=lambda r: r.line)
    clock.lap("store")
    return result


class _PhaseClock:
    """Adds the CPU time since the previous lap to a phase's total."""

    def __init__(self, totals: dict[str, float]) -> None:
        self._totals = totals
        self._last = time.process_time()

    def lap(self, phase: str) -> None:
        now = time.process_time()
        self._totals[phase] = self._totals.get(phase, 0.0) + now - self._last
        self._last = now
