"""A real Prefect server and real ``prefect worker`` processes on loopback, for tests and benches.

Each runs as a subprocess of the installed ``prefect`` command, with its own ``PREFECT_HOME`` (so
its own SQLite database and profile) in a folder of the caller's, exactly as an operator would
start them: nothing of this process's Prefect settings or test harness reaches them.

    with PrefectServer(folder) as server:
        server.cli("work-pool", "create", "takedown", "--type", "process")
        with PrefectWorker(server, "w1", folder / "w1", env=engine_settings) as worker:
            run_id = server.run_deployment("deliver/deliver")
            run = server.wait_for([run_id])[run_id]
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from prefect.client.schemas.objects import FlowRun

BIN = Path(sys.executable).parent
PREFECT = str(BIN / "prefect")
START_TIMEOUT = 90.0  # seconds for `prefect server start` to answer on a busy 2-core machine
STOP_TIMEOUT = 15.0


class PrefectUnavailable(RuntimeError):
    """The Prefect server or a worker did not start."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_environment() -> dict[str, str]:
    """This process's environment without any Prefect or Takedown setting of its own."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PREFECT_", "TAKEDOWN_")) and name != "PYTHONPATH"
    }


def stop_process(process: subprocess.Popen[Any], timeout: float = STOP_TIMEOUT) -> None:
    """Stop a process started with ``start_new_session``, and anything it started, by its group."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            pass
    # Flow-run processes of a worker live in its group: make sure none outlives the test.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


class PrefectServer:
    """``prefect server start`` on a free loopback port; its home (and SQLite) in ``folder``."""

    def __init__(
        self, folder: Path, *, database_url: str | None = None, scheduler: bool = False
    ) -> None:
        self.folder = folder
        # An SQLAlchemy URL (postgresql+asyncpg://...) for Prefect's own database; its SQLite
        # in PREFECT_HOME when None.
        self.database_url = database_url
        self.home = folder / "prefect-home"
        self.port = free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.log_path = folder / "prefect-server.log"
        # Off by default: tests start every run themselves, and a scheduled run appearing
        # mid-test would be work nobody asked for.
        self.scheduler = scheduler
        self.process: subprocess.Popen[bytes] | None = None

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment of a Prefect command talking to this server."""
        env = clean_environment()
        env.update(
            PREFECT_HOME=str(self.home),
            PREFECT_API_URL=self.api_url,
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_CLI_COLORS="false",
            PREFECT_CLI_WRAP_LINES="false",
        )
        env.update(extra or {})
        return env

    def start(self) -> PrefectServer:
        self.home.mkdir(parents=True, exist_ok=True)
        settings = {
            "PREFECT_UI_ENABLED": "false",
            "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": str(self.scheduler).lower(),
        }
        if self.database_url:
            settings["PREFECT_API_DATABASE_CONNECTION_URL"] = self.database_url
        env = self.env(settings)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=self.folder,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise PrefectUnavailable(f"prefect server exited:\n{self.log()}")
            try:
                if httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise PrefectUnavailable(
            f"prefect server did not answer in {START_TIMEOUT} s:\n{self.log()}"
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def __enter__(self) -> PrefectServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def cli(
        self, *args: str, cwd: Path | None = None, timeout: float = 120.0
    ) -> subprocess.CompletedProcess[str]:
        """Run ``prefect ARGS`` against this server; the caller checks the exit status."""
        return subprocess.run(
            [PREFECT, *args],
            cwd=cwd or self.folder,
            env=self.env({"COLUMNS": "200"}),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def client(self) -> SyncPrefectClient:
        """A client of this server, whatever Prefect settings this process has."""
        return SyncPrefectClient(self.api_url)

    def run_deployment(self, name: str, parameters: dict[str, Any] | None = None) -> UUID:
        """Start a run of deployment ``flow/deployment`` now; return the flow run's id."""
        with self.client() as client:
            deployment = client.read_deployment_by_name(name)
            run = client.create_flow_run_from_deployment(deployment.id, parameters=parameters)
            return run.id

    def wait_for(
        self,
        run_ids: Iterable[UUID],
        *,
        timeout: float = 120.0,
        workers: Iterable[PrefectWorker] = (),
    ) -> dict[UUID, FlowRun]:
        """Wait (at most ``timeout`` s) until every run is in a final state; return them.

        AssertionError, with every worker's log and each unfinished run's logs, on a timeout.
        """
        pending = set(run_ids)
        done: dict[UUID, FlowRun] = {}
        deadline = time.monotonic() + timeout
        with self.client() as client:
            while pending:
                for run_id in list(pending):
                    run = client.read_flow_run(run_id)
                    if run.state is not None and run.state.is_final():
                        done[run_id] = run
                        pending.discard(run_id)
                if not pending:
                    break
                if time.monotonic() > deadline:
                    runs = [client.read_flow_run(i) for i in pending]
                    raise AssertionError(
                        f"{len(pending)} flow runs not finished after {timeout:.0f} s\n"
                        + self.explain(runs, workers)
                    )
                time.sleep(0.5)
        return done

    def wait_until_running(
        self,
        run_ids: Iterable[UUID],
        *,
        timeout: float = 120.0,
        workers: Iterable[PrefectWorker] = (),
    ) -> None:
        """Wait (at most ``timeout`` s) until every run is running or already finished."""
        pending = set(run_ids)
        deadline = time.monotonic() + timeout
        with self.client() as client:
            while pending:
                for run_id in list(pending):
                    state = client.read_flow_run(run_id).state
                    if state is not None and (state.is_running() or state.is_final()):
                        pending.discard(run_id)
                if pending and time.monotonic() > deadline:
                    runs = [client.read_flow_run(i) for i in pending]
                    raise AssertionError(
                        f"{len(pending)} flow runs not started after {timeout:.0f} s\n"
                        + self.explain(runs, workers)
                    )
                time.sleep(0.2)

    def flow_run_logs(self, run_id: UUID) -> str:
        """The logs the flow run sent to the server, one line each."""
        with self.client() as client:
            logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
        return "\n".join(f"{log.timestamp:%H:%M:%S} {log.name}: {log.message}" for log in logs)

    def explain(self, runs: Iterable[FlowRun], workers: Iterable[PrefectWorker] = ()) -> str:
        """What a reader needs when a run did not complete: its state, its logs, the workers'."""
        parts = []
        for run in runs:
            state = run.state
            parts.append(
                f"--- flow run {run.name} ({run.id}) of deployment {run.deployment_id}: "
                f"{state.type.value if state else 'no state'} {state.message if state else ''}"
            )
            parts.append(self.flow_run_logs(run.id) or "(no logs)")
        for worker in workers:
            parts.append(f"--- worker {worker.name} log:\n{worker.log()[-20_000:]}")
        return "\n".join(parts)


class PrefectWorker:
    """``prefect worker start --pool POOL`` in ``folder`` with ``env`` added to its environment.

    A process worker runs each flow run as a child process in a temporary folder with the
    worker's environment: that is where the engine's ``TAKEDOWN_*`` settings must be.
    """

    def __init__(
        self,
        server: PrefectServer,
        name: str,
        folder: Path,
        *,
        env: Mapping[str, str] | None = None,
        pool: str = "takedown",
        limit: int | None = None,
    ) -> None:
        self.server = server
        self.name = name
        self.folder = folder
        self.extra_env = dict(env or {})
        self.pool = pool
        self.limit = limit
        self.log_path = folder / f"worker-{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> PrefectWorker:
        self.folder.mkdir(parents=True, exist_ok=True)
        command = [PREFECT, "worker", "start", "--pool", self.pool, "--name", self.name]
        if self.limit is not None:
            command += ["--limit", str(self.limit)]
        # Poll every second (10 s by default) so a test does not wait for the next poll.
        env = self.server.env({"PREFECT_WORKER_QUERY_SECONDS": "1", **self.extra_env})
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=self.folder,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while f"Worker '{self.name}' started" not in self.log():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise PrefectUnavailable(f"worker {self.name} did not start:\n{self.log()}")
            time.sleep(0.2)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def __enter__(self) -> PrefectWorker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
