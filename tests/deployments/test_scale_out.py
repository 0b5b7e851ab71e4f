"""Scale-out, proven: two ``prefect worker`` processes on one pool and one PostgreSQL.

A generated world of a few hundred URLs. An intake run opens the cases; then three tracking
cycles and two delivery runs start together and share the tracing, notifying and delivering
(and the first rechecks); then every rechecked case is made due and three cycles start together
again; a last delivery run sends what the last notify queued. While the runs start, the sandbox
answers slowly, so that no run finishes the shared work before the others are running.

Both workers must have run flow runs; no case is traced or probed unless it was due; every due
case is probed, the due cases by more than one cycle; every notice the engine marked sent
reached its mailbox once; none is left behind.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import pytest
from prefect.client.schemas.objects import FlowRun, StateType
from sqlalchemy import Engine, create_engine, text

from registry.status import RECHECKED_STATUSES
from sandbox.testing import SandboxHandle, running_sandbox
from sandbox.world.generate import generate_world
from sandbox.world.model import FaultPlan
from tests.deployments.conftest import Deployed, drop_database, engine_database
from tests.support.postgres import TemporaryPostgres
from tests.support.prefect_server import PrefectWorker

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.network]

WORLD = (13, 8, 300)  # seed, providers, URLs
BATCH = 25  # cases per claim: small, so the concurrent cycles interleave their claims
CYCLES = 3
RUN_TIMEOUT = 180.0
RECHECKED = tuple(status.value for status in RECHECKED_STATUSES)
USUAL = {"content": FaultPlan(delay=0.3), "rdap": FaultPlan()}
"""The sandbox's pace: every content answer after 0.3 s, so recheck batches take a while."""
SLOW = {"content": FaultPlan(delay=5.0), "rdap": FaultPlan(delay=5.0)}
"""Its pace while runs start: flow-run processes start seconds apart on a busy machine, and
the first must not finish the shared work before the last is running (5 s stays well within
the probe's and the RDAP client's 15 s limits)."""


@dataclass
class Cluster:
    deployed: Deployed
    sandbox: SandboxHandle
    engine: Engine
    workers: list[PrefectWorker]
    runs: dict[UUID, FlowRun] = field(default_factory=dict)

    def start(self, name: str, parameters: dict[str, Any] | None = None) -> UUID:
        return self.deployed.server.run_deployment(name, parameters)

    def wait(self, run_ids: Iterable[UUID]) -> list[FlowRun]:
        done = self.deployed.server.wait_for(run_ids, timeout=RUN_TIMEOUT, workers=self.workers)
        self.runs |= done
        failed = [run for run in done.values() if run.state_type is not StateType.COMPLETED]
        assert not failed, self.deployed.server.explain(failed, self.workers)
        return list(done.values())

    def pace(self, plans: dict[str, FaultPlan]) -> None:
        for server, plan in plans.items():
            self.sandbox.set_faults(server, plan)

    def together(self, cycles: int, deliveries: int) -> list[UUID]:
        """Start ``cycles`` tracking cycles and ``deliveries`` delivery runs together, wait
        for all; return the cycles' run ids."""
        parameters = {"batch_size": BATCH}
        started = [self.start("tracking-cycle/tracking-cycle", parameters) for _ in range(cycles)]
        delivering = [self.start("deliver/deliver") for _ in range(deliveries)]
        self.pace(SLOW)
        try:
            self.deployed.server.wait_until_running(
                [*started, *delivering], timeout=RUN_TIMEOUT, workers=self.workers
            )
        finally:
            self.pace(USUAL)
        self.wait([*started, *delivering])
        return started


@pytest.fixture(scope="module")
def cluster(
    deployed: Deployed, postgres: TemporaryPostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    folder = tmp_path_factory.mktemp("scale-out")
    url = engine_database(postgres, "scaleout", migrated=True)
    engine = create_engine(url)
    try:
        with running_sandbox(
            generate_world(*WORLD), faults=USUAL, workdir=folder / "sandbox"
        ) as sandbox:
            settings = sandbox.env | {"TAKEDOWN_DATABASE_URL": url}
            # At most three flow runs each: runs started together are spread over both.
            workers = [
                PrefectWorker(deployed.server, name, folder / name, env=settings, limit=3)
                for name in ("worker-a", "worker-b")
            ]
            try:
                for worker in workers:
                    worker.start()
                yield Cluster(deployed, sandbox, engine, workers)
            finally:
                for worker in workers:
                    worker.stop()
    finally:
        engine.dispose()
        drop_database(postgres, url)


@dataclass(frozen=True)
class Phases:
    opened: int
    sharing: list[UUID]
    """The cycles that traced, notified and delivered the new cases together."""
    due: set[int]
    rechecking: list[UUID]
    """The cycles started together once every rechecked case was due."""


@pytest.fixture(scope="module")
def phases(cluster: Cluster) -> Phases:
    reports = cluster.sandbox.env["TAKEDOWN_SANDBOX_REPORTS"]
    cluster.wait([cluster.start("intake/intake", {"path": reports})])
    opened = count(cluster.engine, "SELECT count(*) FROM cases")
    sharing = cluster.together(CYCLES, deliveries=2)
    with cluster.engine.begin() as connection:
        due = set(
            connection.scalars(
                text(
                    "UPDATE cases SET next_check_at = now() - interval '1 second' "
                    "WHERE status = ANY(:statuses) RETURNING id"
                ),
                {"statuses": list(RECHECKED)},
            )
        )
    rechecking = cluster.together(CYCLES, deliveries=0)
    cluster.wait([cluster.start("deliver/deliver")])  # what the last cycle's notify queued
    return Phases(opened, sharing, due, rechecking)


def count(engine: Engine, sql: str, **params: Any) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(text(sql), params) or 0)


def timeline(
    engine: Engine, table: str, column: str, case_ids: Iterable[int]
) -> dict[int, list[datetime]]:
    """Per case, the times of its rows in ``checks`` or ``resolutions``, in order."""
    found: dict[int, list[datetime]] = defaultdict(list)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                f"SELECT case_id, {column} FROM {table} "
                f"WHERE case_id = ANY(:cases) ORDER BY {column}"
            ),
            {"cases": list(case_ids)},
        )
        for case_id, at in rows:
            found[case_id].append(at)
    return found


def checks_of(engine: Engine, run_ids: list[UUID]) -> list[tuple[int, datetime, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT case_id, at, flow_run_id FROM checks "
                "WHERE flow_run_id = ANY(:runs) ORDER BY at"
            ),
            {"runs": [str(i) for i in run_ids]},
        )
        return [(case_id, at, run) for case_id, at, run in rows]


def test_both_workers_ran_flow_runs(cluster: Cluster, phases: Phases) -> None:
    by_worker = Counter(run.labels.get("prefect.worker.name") for run in cluster.runs.values())
    assert set(by_worker) == {"worker-a", "worker-b"}, by_worker
    # The flow runs really were processes of their own, on either worker.
    pids = {run.infrastructure_pid for run in cluster.runs.values()}
    assert len(pids) == len(cluster.runs)


def test_every_case_was_traced_and_none_twice_unless_a_check_saw_it_move(
    cluster: Cluster, phases: Phases
) -> None:
    assert phases.opened == WORLD[2]
    assert count(cluster.engine, "SELECT count(*) FROM cases WHERE status = 'new'") == 0
    with cluster.engine.connect() as connection:
        cases = list(connection.scalars(text("SELECT id FROM cases")))
    traces = timeline(cluster.engine, "resolutions", "resolved_at", cases)
    checks = timeline(cluster.engine, "checks", "at", cases)
    assert len(traces) == phases.opened
    # A failed trace is retried after 15 minutes at the soonest: within this test, a second
    # trace of a case can only follow a recheck that found it moved.
    for case_id, times in traces.items():
        for earlier, later in itertools.pairwise(times):
            rechecked = [t for t in checks.get(case_id, []) if earlier < t < later]
            assert rechecked, f"case {case_id} traced at {earlier} and again at {later}"


def test_every_due_case_was_probed_once_and_no_case_unless_due(
    cluster: Cluster, phases: Phases
) -> None:
    assert len(phases.due) > WORLD[2] // 2
    checks = checks_of(cluster.engine, phases.rechecking)
    assert {case_id for case_id, _, _ in checks} == phases.due
    shared = Counter(run for _, _, run in checks)
    assert len(shared) >= 2, f"one cycle did all the rechecks: {shared}"
    for cycles in (phases.sharing, phases.rechecking):
        assert_probed_only_when_due(cluster.engine, cycles)


def assert_probed_only_when_due(engine: Engine, cycles: list[UUID]) -> None:
    """Within one set of concurrent cycles, a case probed twice must have become due again
    in between: re-traced after a move (a trace makes the case due at once)."""
    probed: dict[int, list[datetime]] = defaultdict(list)
    for case_id, at, _ in checks_of(engine, cycles):
        probed[case_id].append(at)
    traces = timeline(engine, "resolutions", "resolved_at", probed)
    for case_id, times in probed.items():
        for earlier, later in itertools.pairwise(times):
            retraced = [t for t in traces.get(case_id, []) if earlier < t < later]
            assert retraced, f"case {case_id} probed at {earlier} and again at {later}"


def test_every_notice_sent_reached_its_mailbox_once_and_none_was_left(
    cluster: Cluster, phases: Phases
) -> None:
    with cluster.engine.connect() as connection:
        statuses = {
            status: n
            for status, n in connection.execute(
                text("SELECT status, count(*) FROM notices GROUP BY status")
            )
        }
        sent = set(connection.scalars(text("SELECT message_id FROM notices WHERE status = 'sent'")))
        keys = connection.scalar(text("SELECT count(*) - count(DISTINCT dedupe_key) FROM notices"))
        refused = list(
            connection.execute(
                text(
                    "SELECT kind, recipient_email, last_error FROM notices WHERE status = 'failed'"
                )
            )
        )
    # Sent, or held for the police's clearance; nothing refused, pending, claimed or lost (every
    # address the generated world publishes has a mailbox).
    assert set(statuses) <= {"sent", "held"}, (statuses, refused[:5])
    assert keys == 0
    sandbox = cluster.sandbox
    addresses = sandbox.call(
        lambda running: [box["address"] for box in running.inspection.service.mailboxes()]
    )
    received = Counter(
        (message["message_id"], address)
        for address in addresses
        for message in sandbox.mailbox(address)
    )
    assert len(sent) > WORLD[2] // 20
    assert {message_id for message_id, _ in received} == sent
    assert max(received.values()) == 1, [key for key, n in received.items() if n > 1]
