"""The analyst's main job, ``takedown run``: intake → trace → notify → deliver in one flow.

Its parameter is either the path of a file of confirmed reports or the reports themselves (a
list of objects in the intake format), which is how a deployment passes them. Each step is the
flow of its own module, run as a subflow, so the run shows the same tasks and summaries as the
steps run alone; the run ends with one markdown artifact summing them up.
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows.deliver import deliver_flow
from flows.intake import Reports, ingest_reports, publish_tables
from flows.markdown import rejected_table
from flows.notify import directory_path, notify_flow
from flows.tracing import trace_flow
from registry.db import configured_url


def _kinds(counts: dict[str, int]) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in counts.items()) or "none"


def run_markdown(run: dict[str, Any]) -> str:
    """The run's artifact: what each step did, then notices by kind."""
    intake, traced = run["intake"], run["trace"]
    notified, delivered = run["notify"], run["deliver"]
    lines = [
        "| step | result |",
        "|---|---|",
        f"| intake | {intake['received']} reports: {intake['cases_opened']} cases opened, "
        f"{intake['reports_attached']} attached, {intake['duplicates']} duplicates, "
        f"{len(intake['rejected'])} rejected |",
        f"| trace | {traced['traced']} traced, {traced['failed']} failed |",
        f"| notify | {notified['cases']} cases: {notified['notified']} notified, "
        f"{notified['held']} held for the police, {notified['needs_analyst']} need an analyst; "
        f"{notified['notices']} notices queued ({notified['notices_held']} held) |",
        f"| deliver | {delivered['sent']} sent, {delivered['retrying']} waiting to retry, "
        f"{delivered['failed']} failed |",
        "",
        "| notice kind | queued | sent |",
        "|---|---:|---:|",
    ]
    kinds = sorted(set(notified["by_kind"]) | set(delivered["sent_by_kind"]))
    for kind in kinds:
        queued = notified["by_kind"].get(kind, 0)
        sent = delivered["sent_by_kind"].get(kind, 0)
        lines.append(f"| {kind} | {queued} | {sent} |")
    if intake["rejected"]:
        lines += ["", *rejected_table(intake["rejected"])]
    return "\n".join(lines)


@flow(name="takedown", log_prints=False)
def takedown_flow(reports: Reports, database_url: str | None = None) -> dict[str, Any]:
    """Open cases from ``reports``, trace every case due, queue and deliver its notices."""
    directory_path()  # without a directory nothing can be notified: refuse before intake
    # Named once, so every step works on the same database whatever its engine cache holds.
    url = configured_url(database_url)
    intake = ingest_reports(reports, url, actor="flow:takedown")
    publish_tables(intake)
    run = {"intake": intake} | pipeline_flow(database_url=url)
    create_markdown_artifact(run_markdown(run), key="takedown-run", description="Takedown run")
    return run


@flow(name="takedown-pipeline", log_prints=False)
def pipeline_flow(database_url: str | None = None) -> dict[str, Any]:
    """Everything after intake: trace every case due, queue and deliver its notices.

    The web app runs this after opening cases itself, so a case opened in the browser goes
    through exactly the steps of ``takedown run``.
    """
    url = configured_url(database_url)
    traced = trace_flow(database_url=url)
    notified = notify_flow(database_url=url)
    delivered = deliver_flow(database_url=url)
    return {"trace": traced, "notify": notified, "deliver": delivered}
