"""Rechecks per second through the Prefect deployments: one worker, then two worker processes.

    .venv/bin/python -m bench.bench_scaleout [--urls 20000] [--latency 0.1] [--batch-size 500]
        [--repeat 1]

Everything is real and on this machine: the sandbox serves a generated world in its own process
(every content answer after ``--latency``); a throw-away PostgreSQL holds one case per URL,
opened by the real intake and marked notified and traced (as ``bench_recheck`` does); a
``prefect server start`` subprocess, its state on the same PostgreSQL, has ``prefect.yaml``
deployed with ``prefect deploy --all``.
Then, for the baseline, one ``prefect worker start --pool takedown --limit 1`` runs one
``tracking-cycle`` run over every case; and, for the figure, two worker processes (``--limit 1``
each) run two ``tracking-cycle`` runs started together, which share the cases through the
recheck claim's ``FOR UPDATE SKIP LOCKED``. Every case is due again before each round;
``--repeat N`` alternates N rounds of each and compares the medians.

Printed per round: rechecks per second from the first check recorded to the last (the
recheck itself), and over the whole runs, from the first flow run's start to the last one's end
(with the flow-run processes' start-up and the cycles' other, idle steps), with the CPU seconds
of the workers and their flow runs, of the sandbox and of the database server during the round.
Other work on the machine slows the wall clock; the CPU seconds per check do not move with it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import Engine, text

from bench.bench_recheck import open_cases, start_sandbox, stop, timed, vacuum
from bench.cpu import cpu_seconds, postmaster_pid, tree_cpu_seconds
from registry import migrate
from registry.db import make_engine
from tests.support.postgres import TemporaryPostgres
from tests.support.prefect_server import PrefectServer, PrefectWorker

REPO = Path(__file__).resolve().parent.parent
RUN_LIMIT = 900.0  # seconds a round may take before the benchmark gives up


def prefect_server(database: TemporaryPostgres, folder: Path) -> PrefectServer:
    """A Prefect server keeping its state on ``database``, as in production (its SQLite answers
    concurrent writers "database is locked" on a busy machine)."""
    database.execute("CREATE DATABASE prefect")
    url = database.url_for("prefect").replace("+psycopg2", "+asyncpg")
    (folder / "prefect").mkdir()
    return PrefectServer(folder / "prefect", database_url=url)


def deploy(server: PrefectServer) -> None:
    """The work pool and every deployment of ``prefect.yaml``, as an operator makes them."""
    for command, cwd in (
        (("work-pool", "create", "takedown", "--type", "process"), server.folder),
        (("--no-prompt", "deploy", "--all"), REPO),
    ):
        done = server.cli(*command, cwd=cwd)
        if done.returncode != 0:
            raise SystemExit(f"prefect {' '.join(command)} failed:\n{done.stdout}{done.stderr}")


def round_of(
    workers: int,
    *,
    server: PrefectServer,
    engine: Engine,
    settings: dict[str, str],
    folder: Path,
    batch_size: int,
    cpu: dict[str, int],
) -> dict[str, Any]:
    """``workers`` worker processes, one tracking cycle each, started together; their figures."""
    with engine.begin() as connection:
        due = connection.execute(text("UPDATE cases SET next_check_at = NULL")).rowcount
    started = [
        PrefectWorker(server, f"w{workers}-{i}", folder / f"w{workers}-{i}", env=settings, limit=1)
        for i in range(workers)
    ]
    try:
        for worker in started:
            worker.start()
        sandbox_cpu, database_cpu = cpu_seconds(cpu["sandbox"]), tree_cpu_seconds(cpu["database"])
        engine_cpu = sum(worker_cpu(worker) for worker in started)
        runs = [
            server.run_deployment("tracking-cycle/tracking-cycle", {"batch_size": batch_size})
            for _ in range(workers)
        ]
        done = server.wait_for(runs, timeout=RUN_LIMIT, workers=started)
        sandbox_cpu = cpu_seconds(cpu["sandbox"]) - sandbox_cpu
        database_cpu = tree_cpu_seconds(cpu["database"]) - database_cpu
        engine_cpu = sum(worker_cpu(worker) for worker in started) - engine_cpu
    finally:
        for worker in started:
            worker.stop()
    failed = [run for run in done.values() if not run.state or not run.state.is_completed()]
    if failed:
        raise SystemExit(server.explain(failed, started))
    ran_on = {run.labels.get("prefect.worker.name") for run in done.values()}
    checked, first, last, cases = checks_of(engine, runs)
    starts = [run.start_time for run in done.values() if run.start_time]
    ends = [run.end_time for run in done.values() if run.end_time]
    return {
        "due": due,
        "checked": checked,
        "cases": cases,
        "workers": len(ran_on),
        "recheck_seconds": (last - first).total_seconds(),
        "run_seconds": (max(ends) - min(starts)).total_seconds(),
        "cycle_seconds": [round(run.total_run_time.total_seconds(), 1) for run in done.values()],
        "engine_cpu": engine_cpu,
        "sandbox_cpu": sandbox_cpu,
        "database_cpu": database_cpu,
    }


def worker_cpu(worker: PrefectWorker) -> float:
    """CPU seconds of a worker and of its flow runs (its children, ended ones included)."""
    assert worker.process is not None
    return tree_cpu_seconds(worker.process.pid)


def checks_of(engine: Engine, runs: list[UUID]) -> tuple[int, Any, Any, int]:
    """How many checks the runs recorded, the first and last check's time, and on how many
    distinct cases."""
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT count(*), min(at), max(at), count(DISTINCT case_id) FROM checks "
                "WHERE flow_run_id = ANY(:runs)"
            ),
            {"runs": [str(run) for run in runs]},
        ).one()
    return int(row[0]), row[1], row[2], int(row[3])


def report(label: str, figures: dict[str, Any]) -> float:
    rate: float = figures["checked"] / max(figures["recheck_seconds"], 1e-9)
    overall = figures["checked"] / max(figures["run_seconds"], 1e-9)
    print(
        f"  {label}: {figures['checked']:,} checks of {figures['due']:,} due cases "
        f"({figures['cases']:,} distinct) by {figures['workers']} worker(s)"
    )
    print(
        f"    {rate:,.0f} checks/s from first to last check ({figures['recheck_seconds']:.1f} s); "
        f"{overall:,.0f} checks/s over the whole runs ({figures['run_seconds']:.1f} s, "
        f"cycles {', '.join(f'{s} s' for s in figures['cycle_seconds'])})"
    )
    per_check = 1000 * figures["engine_cpu"] / max(figures["checked"], 1)
    print(
        f"    CPU seconds during the round: workers and their flow runs "
        f"{figures['engine_cpu']:.1f} ({per_check:.2f} ms a check, start-up included), "
        f"sandbox {figures['sandbox_cpu']:.1f}, database server {figures['database_cpu']:.1f}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--urls", type=int, default=20_000)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of each, alternated (the load drifts)"
    )
    args = parser.parse_args()
    print(
        f"rechecks of {args.urls:,} URLs through the tracking-cycle deployment, "
        f"{args.latency * 1000:.0f} ms per request, claims of {args.batch_size}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-scaleout-") as scratch:
        folder = Path(scratch)
        sandbox, settings = start_sandbox(args.urls, args.latency, folder)
        try:
            with TemporaryPostgres() as database, prefect_server(database, folder) as server:
                migrate.upgrade(database.url)
                engine = make_engine(database.url)
                try:
                    timed(
                        "cases opened by intake",
                        lambda: open_cases(engine, Path(settings["TAKEDOWN_SANDBOX_REPORTS"])),
                    )
                    timed("vacuum after the bulk load", lambda: vacuum(engine))
                    timed("prefect deploy --all", lambda: deploy(server))
                    common: dict[str, Any] = {
                        "server": server,
                        "engine": engine,
                        "settings": settings | {"TAKEDOWN_DATABASE_URL": database.url},
                        "folder": folder,
                        "batch_size": args.batch_size,
                        "cpu": {
                            "sandbox": sandbox.pid,
                            "database": postmaster_pid(database.data),
                        },
                    }
                    ones, twos = [], []
                    for _ in range(args.repeat):
                        ones.append(report("one worker (baseline)", round_of(1, **common)))
                        twos.append(report("two worker processes", round_of(2, **common)))
                    one, two = statistics.median(ones), statistics.median(twos)
                    print(
                        f"  median of {args.repeat}: one worker {one:,.0f} checks/s, two workers "
                        f"{two:,.0f} checks/s: {two / one:.2f}x"
                    )
                finally:
                    engine.dispose()
        finally:
            stop(sandbox)


if __name__ == "__main__":
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    main()
