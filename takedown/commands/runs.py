"""``takedown runs``: the recent runs of the takedown deployments, read from the Prefect API.

For the runs that take reports in (the ``takedown`` main job and ``intake``), the figures of the
intake and its rejected rows come from the table artifacts the flow run published
(:func:`flows.intake.publish_tables`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import httpx
import typer

from takedown.app import app
from takedown.clikit import JsonOption, fail, print_json

if TYPE_CHECKING:  # Prefect loads when the command runs: importing it configures its logging
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.objects import Artifact, FlowRun

DEPLOYMENT_TAG = "takedown"
"""The tag ``prefect.yaml`` gives every deployment of the engine."""
INTAKE_DEPLOYMENTS = frozenset({"takedown", "intake"})
MAX_DEPLOYMENTS = 200
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f]")

LimitOption = Annotated[
    int, typer.Option("--limit", min=1, max=200, help="How many runs, newest first.")
]


@app.command()
def runs(limit: LimitOption = 20, as_json: JsonOption = False) -> None:
    """Recent runs of the takedown deployments (PREFECT_API_URL): their state, their worker,
    and for intake and main-job runs what the intake did, rejected rows included."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import PrefectHTTPStatusError
    from prefect.settings import get_current_settings

    api_url = get_current_settings().api.url
    if not api_url:
        fail(
            "PREFECT_API_URL is not set: point it at the Prefect server the deployments run "
            "on, e.g. export PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    try:
        with get_client(sync_client=True) as client:
            found = recent_runs(client, limit)
    except (httpx.HTTPError, PrefectHTTPStatusError) as exc:
        fail(f"cannot read runs from the Prefect API at {api_url}: {exc}")
        return
    if as_json:
        print_json(found)
        return
    print_runs(found)


def recent_runs(client: SyncPrefectClient, limit: int) -> list[dict[str, Any]]:
    """The ``limit`` newest runs of the engine's deployments, as ``takedown runs --json``: the
    ones due by now (late and running runs included), not those scheduled for later."""
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterTags,
        FlowRunFilter,
        FlowRunFilterDeploymentId,
        FlowRunFilterExpectedStartTime,
    )
    from prefect.client.schemas.sorting import FlowRunSort

    deployments = client.read_deployments(
        deployment_filter=DeploymentFilter(tags=DeploymentFilterTags(all_=[DEPLOYMENT_TAG])),
        limit=MAX_DEPLOYMENTS,
    )
    names = {deployment.id: deployment.name for deployment in deployments}
    if not names:
        return []
    flow_runs = client.read_flow_runs(
        flow_run_filter=FlowRunFilter(
            deployment_id=FlowRunFilterDeploymentId(any_=list(names)),
            expected_start_time=FlowRunFilterExpectedStartTime(before_=datetime.now(UTC)),
        ),
        sort=FlowRunSort.EXPECTED_START_TIME_DESC,
        limit=limit,
    )
    deployment = {
        run.id: names.get(run.deployment_id) if run.deployment_id else None for run in flow_runs
    }
    intakes = [run_id for run_id, name in deployment.items() if name in INTAKE_DEPLOYMENTS]
    artifacts = intake_artifacts(client, intakes)
    return [
        run_json(run, deployment[run.id] or "?", artifacts.get(run.id, {})) for run in flow_runs
    ]


def intake_artifacts(
    client: SyncPrefectClient, run_ids: Sequence[UUID]
) -> dict[UUID, dict[str, Artifact]]:
    """The intake table artifacts of each run, by run and key."""
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )
    from prefect.client.schemas.sorting import ArtifactSort

    from flows.intake import FIGURES_KEY, REJECTED_KEY

    if not run_ids:
        return {}
    found = client.read_artifacts(
        artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=list(run_ids)),
            key=ArtifactFilterKey(any_=[FIGURES_KEY, REJECTED_KEY]),
        ),
        sort=ArtifactSort.CREATED_DESC,
        limit=2 * len(run_ids),
        offset=0,
    )
    by_run: dict[UUID, dict[str, Artifact]] = {}
    for artifact in found:
        if artifact.flow_run_id is not None and artifact.key is not None:
            by_run.setdefault(artifact.flow_run_id, {}).setdefault(artifact.key, artifact)
    return by_run


def _table(artifact: Artifact | None) -> list[dict[str, Any]]:
    data = artifact.data if artifact is not None else None
    rows = json.loads(data) if isinstance(data, str) else data
    return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []


def intake_json(artifacts: dict[str, Artifact]) -> dict[str, Any] | None:
    """What the run's intake did, in the shape of ``takedown intake --json`` (with the count
    of rejected rows, of which at most the first thousand are listed); None without figures."""
    from flows.intake import FIGURES_KEY, REJECTED_KEY

    figures = _table(artifacts.get(FIGURES_KEY))
    if not figures:
        return None
    counts = figures[0]
    keys = ("received", "cases_opened", "reports_attached", "duplicates")
    return {key: int(counts.get(key, 0)) for key in keys} | {
        "rejected_total": int(counts.get("rejected", 0)),
        "rejected": [
            {"line": r.get("line"), "report_id": r.get("report_id"), "error": r.get("error")}
            for r in _table(artifacts.get(REJECTED_KEY))
        ],
    }


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def run_json(run: FlowRun, deployment: str, artifacts: dict[str, Artifact]) -> dict[str, Any]:
    """One run of ``takedown runs --json``."""
    state = run.state
    return {
        "id": str(run.id),
        "name": run.name,
        "deployment": deployment,
        "state": state.name if state is not None else None,
        "message": state.message if state is not None else None,
        "expected_start": _when(run.expected_start_time),
        "started": _when(run.start_time),
        "ended": _when(run.end_time),
        "seconds": round(run.total_run_time.total_seconds(), 1),
        "worker": run.labels.get("prefect.worker.name"),
        "parameters": {key: _plain(value) for key, value in run.parameters.items()},
        "intake": intake_json(artifacts),
    }


def _plain(value: Any) -> Any:
    # A main-job run may carry thousands of report objects: say how many, not what.
    if isinstance(value, list):
        return f"{len(value)} items"
    return value


def _clean(value: object) -> str:
    return _UNPRINTABLE.sub(" ", str(value))


def print_runs(found: Sequence[dict[str, Any]]) -> None:
    """The runs as a table, each intake's figures and rejected rows under its run."""
    if not found:
        typer.echo("no runs of the takedown deployments")
        return
    typer.echo(f"{'STARTED (UTC)':<19}  {'DEPLOYMENT':<14}  {'STATE':<10}  {'SECONDS':>7}  RUN")
    for run in found:
        when = (run["started"] or run["expected_start"] or "")[:19].replace("T", " ")
        typer.echo(
            f"{when:<19}  {run['deployment']:<14}  {run['state'] or '?':<10}  "
            f"{run['seconds']:>7.1f}  {run['name']}"
        )
        if run["state"] not in (None, "Completed") and run["message"]:
            typer.echo(f"    {_clean(run['message'])[:200]}")
        intake = run["intake"]
        if intake is None:
            continue
        typer.echo(
            f"    intake: {intake['received']} received, {intake['cases_opened']} cases opened, "
            f"{intake['reports_attached']} attached, {intake['duplicates']} duplicates, "
            f"{intake['rejected_total']} rejected"
        )
        for row in intake["rejected"]:
            label = f" ({_clean(row['report_id'])[:64]})" if row["report_id"] else ""
            typer.echo(f"      line {row['line']}{label}: {_clean(row['error'])}")
        if intake["rejected_total"] > len(intake["rejected"]):
            typer.echo(f"      … {intake['rejected_total'] - len(intake['rejected'])} more")
