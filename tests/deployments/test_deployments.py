"""Every deployment of ``prefect.yaml`` runs to ``Completed`` on a real ``prefect worker``.

Nothing is simulated on Prefect's side: a ``prefect server start`` subprocess, the deployments
created by ``prefect deploy --all`` from the file as written, and a ``prefect worker start
--pool takedown`` subprocess whose flow runs are child processes in temporary folders, with
the engine's settings in the worker's environment only. The engine works on a PostgreSQL
database upgraded with ``takedown db upgrade`` and against the sandbox's internet.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import yaml
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.states import Scheduled
from sqlalchemy import create_engine, text
from typer.testing import CliRunner, Result

from sandbox.testing import SandboxHandle, running_sandbox
from takedown.cli import app
from tests.deployments.conftest import (
    DEPLOYMENTS,
    REPO,
    TAKEDOWN,
    Deployed,
    drop_database,
    engine_database,
)
from tests.support.postgres import TemporaryPostgres
from tests.support.prefect_server import PrefectServer, PrefectWorker, clean_environment

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.network]

RUN_TIMEOUT = 120.0


@dataclass(frozen=True)
class Staging:
    """The sandbox, the engine's database and the worker serving the pool."""

    deployed: Deployed
    sandbox: SandboxHandle
    database_url: str
    worker: PrefectWorker
    folder: Path


@pytest.fixture(scope="module")
def staging(
    deployed: Deployed, postgres: TemporaryPostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Staging]:
    folder = tmp_path_factory.mktemp("staging")
    url = engine_database(postgres, "deployments", migrated=False)
    try:
        with running_sandbox(workdir=folder / "sandbox") as sandbox:
            # The worker's environment is the only place the engine's settings are given.
            settings = sandbox.env | {"TAKEDOWN_DATABASE_URL": url}
            worker = PrefectWorker(deployed.server, "staging", folder / "worker", env=settings)
            with worker:
                yield Staging(deployed, sandbox, url, worker, folder)
    finally:
        drop_database(postgres, url)


def analyst_file(sandbox: SandboxHandle, folder: Path) -> Path:
    """A second file of reports: one already taken in, one more report of a URL with an open
    case, and one with a category the hotline does not use."""
    with Path(sandbox.env["TAKEDOWN_SANDBOX_REPORTS"]).open(newline="", encoding="utf-8") as f:
        first, second = list(csv.DictReader(f))[:2]
    rows = [
        first,
        second | {"report_id": "ANALYST-0001"},
        second | {"report_id": "ANALYST-0002", "category": "Z"},
    ]
    path = folder / "analyst-reports.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(first))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def completed(staging: Staging) -> dict[str, FlowRun]:
    """Each deployment run once: the main job first (it opens the cases the others work on),
    then the others at once. Keyed by deployment name; not asserted here."""
    server = staging.deployed.server
    reports = staging.sandbox.env["TAKEDOWN_SANDBOX_REPORTS"]
    started = {
        "takedown/takedown": server.run_deployment("takedown/takedown", {"reports": reports})
    }
    finished = server.wait_for(started.values(), timeout=RUN_TIMEOUT, workers=[staging.worker])
    path = str(analyst_file(staging.sandbox, staging.folder))
    for name in DEPLOYMENTS[1:]:
        parameters = {"path": path} if name == "intake/intake" else None
        started[name] = server.run_deployment(name, parameters)
    finished |= server.wait_for(started.values(), timeout=RUN_TIMEOUT, workers=[staging.worker])
    return {name: finished[run_id] for name, run_id in started.items()}


def test_prefect_deploy_all_creates_every_deployment_of_the_file(deployed: Deployed) -> None:
    assert deployed.pool.returncode == 0, deployed.pool.stdout + deployed.pool.stderr
    deploy = deployed.deploy
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    with deployed.server.client() as client:
        found = {d.name: d for d in client.read_deployments(limit=50)}
    assert set(found) == {name.split("/")[1] for name in DEPLOYMENTS}
    for deployment in found.values():
        assert deployment.work_pool_name == "takedown"
        # No pull step, no working directory of the deploying machine: the worker imports the
        # installed package.
        assert not deployment.pull_steps
        assert ".py" not in (deployment.entrypoint or "")


def test_every_deployment_completes_a_run_on_a_worker(
    staging: Staging, completed: dict[str, FlowRun]
) -> None:
    server = staging.deployed.server
    failed = [run for run in completed.values() if run.state_type is not StateType.COMPLETED]
    assert not failed, server.explain(failed, [staging.worker])
    assert set(completed) == set(DEPLOYMENTS)
    for run in completed.values():
        assert run.labels.get("prefect.worker.name") == "staging"


def test_the_runs_opened_traced_notified_delivered_and_rechecked(
    staging: Staging, completed: dict[str, FlowRun]
) -> None:
    engine = create_engine(staging.database_url)
    try:
        with engine.connect() as connection:
            cases = connection.scalar(text("SELECT count(*) FROM cases"))
            traced = connection.scalar(
                text("SELECT count(*) FROM cases WHERE traced_at IS NOT NULL")
            )
            sent = set(
                connection.scalars(text("SELECT message_id FROM notices WHERE status = 'sent'"))
            )
            checks = connection.scalar(
                text("SELECT count(*) FROM checks WHERE flow_run_id = :run"),
                {"run": str(completed["tracking-cycle/tracking-cycle"].id)},
            )
    finally:
        engine.dispose()
    world_urls = len(staging.sandbox.world.urls)
    assert cases == world_urls
    assert traced and traced >= world_urls - 2  # the world has URLs that cannot be traced
    assert checks, "the tracking cycle rechecked no case"
    # What the engine marked sent is what the sandbox's mailboxes received, each once.
    received = Counter(
        (message["message_id"], address)
        for address in mailbox_addresses(staging.sandbox)
        for message in staging.sandbox.mailbox(address)
    )
    assert sent, "no notice was delivered"
    assert {message_id for message_id, _ in received} == sent
    assert max(received.values()) == 1


def mailbox_addresses(sandbox: SandboxHandle) -> list[str]:
    def read(running: Any) -> list[str]:
        return [box["address"] for box in running.inspection.service.mailboxes()]

    return sandbox.call(read)


def test_the_digest_and_the_intakes_leave_artifacts(
    staging: Staging, completed: dict[str, FlowRun]
) -> None:
    run_ids = {name: run.id for name, run in completed.items()}
    with staging.deployed.server.client() as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=list(run_ids.values()))
            ),
            limit=50,
            offset=0,
        )
    keys: dict[UUID, set[str]] = {}
    for artifact in artifacts:
        assert artifact.flow_run_id is not None and artifact.key is not None
        keys.setdefault(artifact.flow_run_id, set()).add(artifact.key)
    assert {"takedown-digest", "takedown-removal-times"} <= keys[
        run_ids["daily-digest/daily-digest"]
    ]
    assert {"takedown-run", "intake-figures"} <= keys[run_ids["takedown/takedown"]]
    assert {"intake-summary", "intake-figures", "intake-rejected"} <= keys[run_ids["intake/intake"]]
    assert "recheck-summary" in keys[run_ids["tracking-cycle/tracking-cycle"]]


def takedown_cli(staging: Staging, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TAKEDOWN, *args],
        env=staging.deployed.server.env(),
        cwd=staging.folder,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def schedule_tomorrow(server: PrefectServer, name: str) -> UUID:
    """A run of ``name`` scheduled a day ahead, as the server's scheduler makes them."""
    with server.client() as client:
        deployment = client.read_deployment_by_name(name)
        run = client.create_flow_run_from_deployment(
            deployment.id, state=Scheduled(scheduled_time=datetime.now(UTC) + timedelta(days=1))
        )
    return run.id


def test_takedown_runs_shows_each_run_and_what_its_intake_did(
    staging: Staging, completed: dict[str, FlowRun]
) -> None:
    later = schedule_tomorrow(staging.deployed.server, "deliver/deliver")
    listed = takedown_cli(staging, "runs", "--json", "--limit", "50")
    assert listed.returncode == 0, listed.stderr
    found = json.loads(listed.stdout)
    assert str(later) not in {run["id"] for run in found}, "a run scheduled for later is listed"
    ours = {str(run.id) for run in completed.values()}
    runs = {run["deployment"]: run for run in found if run["id"] in ours}
    assert set(runs) == {name.split("/")[1] for name in DEPLOYMENTS}
    assert {run["state"] for run in runs.values()} == {"Completed"}
    assert {run["worker"] for run in runs.values()} == {"staging"}
    world_urls = len(staging.sandbox.world.urls)
    main_job = runs["takedown"]["intake"]
    assert main_job == {
        "received": world_urls,
        "cases_opened": world_urls,
        "reports_attached": 0,
        "duplicates": 0,
        "rejected_total": 0,
        "rejected": [],
    }
    analyst = runs["intake"]["intake"]
    assert {k: v for k, v in analyst.items() if k != "rejected"} == {
        "received": 3,
        "cases_opened": 0,
        "reports_attached": 1,
        "duplicates": 1,
        "rejected_total": 1,
    }
    [rejected] = analyst["rejected"]
    assert (rejected["line"], rejected["report_id"]) == (4, "ANALYST-0002")
    assert "category 'Z'" in rejected["error"]
    assert runs["tracking-cycle"]["intake"] is None

    table = runs_command(staging.deployed.server.api_url)
    assert table.exit_code == 0, table.stderr
    assert (
        "intake: 3 received, 0 cases opened, 1 attached, 1 duplicates, 1 rejected" in table.stdout
    )
    assert "line 4 (ANALYST-0002): category 'Z'" in table.stdout
    two = runs_command(staging.deployed.server.api_url, "--limit", "2")
    assert len([line for line in two.stdout.splitlines() if "Completed" in line]) == 2


def runs_command(api_url: str | None, *args: str) -> Result:
    """``takedown runs ARGS`` in this process, with ``PREFECT_API_URL`` set to ``api_url``."""
    if api_url is None:
        settings = temporary_settings(restore_defaults={PREFECT_API_URL})
    else:
        settings = temporary_settings(updates={PREFECT_API_URL: api_url})
    with settings:
        return CliRunner().invoke(app, ["runs", *args])


def test_takedown_runs_says_where_it_looked_when_the_server_is_gone() -> None:
    gone = runs_command("http://127.0.0.1:9/api")
    assert gone.exit_code == 2
    assert "cannot read runs from the Prefect API at http://127.0.0.1:9/api" in gone.stderr
    # Unset, Prefect's client would start a temporary server of its own and find no runs.
    unset = runs_command(None)
    assert unset.exit_code == 2
    assert "PREFECT_API_URL is not set" in unset.stderr


LOAD_ENTRYPOINTS = textwrap.dedent(
    """
    import json, sys
    import yaml
    from prefect.flows import load_flow_from_entrypoint

    config = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
    found = {}
    for deployment in config["deployments"]:
        flow = load_flow_from_entrypoint(deployment["entrypoint"], use_placeholder_flow=False)
        module = sys.modules[flow.fn.__module__]
        found[deployment["name"]] = {"flow": flow.name, "file": module.__file__}
    print(json.dumps(found))
    """
)


def test_every_entrypoint_imports_in_a_fresh_interpreter_outside_the_checkout(
    tmp_path: Path,
) -> None:
    # A fresh interpreter started elsewhere, as a worker's flow-run process is: nothing this
    # test process imported can hide a failing import, and no placeholder flow stands in.
    result = subprocess.run(
        [sys.executable, "-c", LOAD_ENTRYPOINTS, str(REPO / "prefect.yaml")],
        cwd=tmp_path,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    config = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))
    assert set(found) == {d["name"] for d in config["deployments"]}
    for name, loaded in found.items():
        assert loaded["flow"] == name
        assert not Path(loaded["file"]).is_relative_to(tmp_path)
