"""The intake flow: confirmed reports in, cases opened. Thin: the work is in registry.intake."""

from __future__ import annotations

import io
import json
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, BinaryIO

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from flows.markdown import rejected_table
from registry.db import engine_for, unit_of_work
from registry.intake.service import ingest_file
from settings import get_settings

Reports = str | list[dict[str, Any]]
"""The path of a reports file the worker can read, or the reports themselves (a list of objects
in the intake format, as a deployment passes them)."""

FIGURES_KEY = "intake-figures"
REJECTED_KEY = "intake-rejected"
REJECTED_ROWS = 1000
"""Rejected rows kept in the run's table artifact; the figures count them all."""


@task(name="ingest-reports", cache_policy=NO_CACHE)
def ingest_reports(
    reports: Reports, database_url: str | None = None, actor: str = "flow:intake"
) -> dict[str, Any]:
    """Store every report in one transaction; return the intake summary and the case ids."""
    settings = get_settings()
    with _opened(reports) as data, unit_of_work(engine_for(database_url)) as session:
        result = ingest_file(
            session,
            data,
            Path(reports).name if isinstance(reports, str) else "reports.json",
            categories=settings.categories,
            default_source=settings.default_source,
            actor=actor,
            flow_run_id=str(flow_run.get_id() or "") or None,
        )
    summary = result.to_json()
    summary["case_ids"] = result.case_ids
    return summary


def _opened(reports: Reports) -> AbstractContextManager[BinaryIO]:
    """The reports file opened for streaming, or the given reports as a JSON array."""
    if isinstance(reports, str):
        return Path(reports).open("rb")
    return nullcontext(io.BytesIO(json.dumps(reports).encode("utf-8")))


@flow(name="intake", log_prints=False)
def intake_flow(path: str, database_url: str | None = None) -> dict[str, Any]:
    """Open cases from a file of confirmed reports (CSV, JSON array or JSON Lines)."""
    logger = get_run_logger()
    summary = ingest_reports(path, database_url)
    rejected = summary["rejected"]
    logger.info(
        "%d received: %d cases opened, %d attached, %d duplicates, %d rejected",
        summary["received"],
        summary["cases_opened"],
        summary["reports_attached"],
        summary["duplicates"],
        len(rejected),
    )
    lines = [
        "| received | cases opened | reports attached | duplicates | rejected |",
        "|---:|---:|---:|---:|---:|",
        f"| {summary['received']} | {summary['cases_opened']} | {summary['reports_attached']} "
        f"| {summary['duplicates']} | {len(rejected)} |",
    ]
    if rejected:
        lines += ["", *rejected_table(rejected)]
    create_markdown_artifact("\n".join(lines), key="intake-summary", description="Intake")
    publish_tables(summary)
    return summary


def publish_tables(summary: dict[str, Any]) -> None:
    """The intake's figures and its rejected rows as table artifacts of the flow run: the
    Prefect UI shows them as tables, and ``takedown runs`` reads them back."""
    rejected = summary["rejected"]
    figures = {
        key: summary[key] for key in ("received", "cases_opened", "reports_attached", "duplicates")
    }
    create_table_artifact(
        [figures | {"rejected": len(rejected)}], key=FIGURES_KEY, description="Intake figures"
    )
    if rejected:
        shown = rejected[:REJECTED_ROWS]
        create_table_artifact(
            [{"line": r["line"], "report_id": r["report_id"], "error": r["error"]} for r in shown],
            key=REJECTED_KEY,
            description=f"Rejected reports ({len(shown)} of {len(rejected)})",
        )
