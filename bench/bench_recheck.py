"""Recheck throughput: 100,000 cases of a generated world, every request answered after 100 ms.

    .venv/bin/python -m bench.bench_recheck [--urls 100000] [--latency 0.1] [--processes 2]
        [--workers 2] [--batch-size 1000] [--concurrency 512] [--per-task-sample 300]
        [--ceiling-requests 30000]

(``--per-task-sample 0`` leaves the one-task-per-URL comparison out, ``--ceiling-requests 0``
the ceiling.)

The sandbox serves the world (DNS and content hosts) in its own process, with its content
fault delay set to ``--latency``; the cases are opened from its confirmed reports by the real
intake into a throw-away PostgreSQL. Then ``--processes`` recheck processes (as several Prefect
workers would be) each run :func:`flows.recheck.run_recheck` over the same due cases, sharing
the work through ``FOR UPDATE SKIP LOCKED`` claims. Printed: checks per second, the peak RSS of
each recheck process and of the sandbox, CPU seconds, the loopback ceiling measured right after
on the same sandbox (:mod:`bench.ceiling`: a bare keep-alive client sending ``--ceiling-requests``
of the world's URLs with as many requests in flight) and the ratio of the two, and the same work
done as one Prefect task per URL, measured on a sample and extrapolated to the whole world.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import uvloop
import yaml
from sqlalchemy import Engine, text

from bench.ceiling import measure
from bench.cpu import cpu_seconds, postmaster_pid, tree_cpu_seconds
from hosting.probe import ProbeLimits, Prober, build_prober
from registry import migrate
from registry.db import make_engine, unit_of_work
from registry.intake.service import ingest_file
from registry.tracking.claims import load_targets
from registry.tracking.decide import TrackingPolicy
from registry.tracking.run import ProberFactory, probe_targets, run_recheck
from registry.tracking.service import record_checks
from sandbox.world.generate import generate_world_dict
from settings import DEFAULT_CATEGORIES
from tests.support.postgres import TemporaryPostgres

START_LIMIT = 300.0  # seconds to wait for a 100,000-URL sandbox
RUN_LIMIT = 900.0  # seconds a recheck process may take before the benchmark gives up
POLICY = TrackingPolicy(
    removal_confirmations=3,
    removal_spacing=timedelta(minutes=5),
    recheck_interval=timedelta(minutes=15),
)


def start_sandbox(
    urls: int, latency: float, folder: Path
) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """Serve a generated world with a content delay in its own process; return its settings."""
    world = generate_world_dict(7, 100, urls)
    world["faults"] = {"content": {"delay": latency}}
    world_file = folder / "world.yaml"
    world_file.write_text(yaml.safe_dump(world, sort_keys=False), encoding="utf-8")
    env_file = folder / "sandbox.env"
    errors = (folder / "sandbox.err").open("w", encoding="utf-8")
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "sandbox", "up", "--world", str(world_file)),
            *("--env-file", str(env_file), "--state-dir", str(folder / "state")),
            *("--content-port", "0"),
        ],
        stdout=subprocess.DEVNULL,
        # A file, not a pipe nobody reads while the bench runs: a sandbox that logs a lot
        # would fill the pipe and stop answering.
        stderr=errors,
        text=True,
        cwd=folder,
    )
    started = time.perf_counter()
    while not env_file.exists():
        if process.poll() is not None or time.perf_counter() - started > START_LIMIT:
            process.kill()
            process.wait()
            errors.close()
            raise SystemExit(f"sandbox did not start: {(folder / 'sandbox.err').read_text()}")
        time.sleep(0.1)
    time.sleep(0.1)  # the file is written in one go; let the write finish
    lines = env_file.read_text().splitlines()
    settings = dict(
        line.split("=", 1) for line in lines if "=" in line and not line.startswith("#")
    )
    print(f"  sandbox up in {time.perf_counter() - started:.1f} s")
    return process, settings


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def open_cases(engine: Engine, reports: Path) -> int:
    """Open one case per confirmed report, as notified and traced to the sandbox's networks."""
    with unit_of_work(engine) as session:
        result = ingest_file(
            session,
            reports.read_bytes(),
            reports.name,
            categories=DEFAULT_CATEGORIES,
            default_source="bench",
        )
    with unit_of_work(engine) as session:
        session.execute(text("UPDATE cases SET status = 'notified'"))
        session.execute(
            text(
                "INSERT INTO resolutions (case_id, resolved_at, ok, result) "
                "SELECT id, now(), true, CAST(:result AS json) FROM cases"
            ),
            {"result": json.dumps(TRACED)},
        )
    return result.cases_opened


def vacuum(engine: Engine) -> None:
    """Clean up after loading the world, as autovacuum would have long before a production
    recheck: otherwise its pass over the fresh tables would be counted as the recheck's."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM (ANALYZE) cases, resolutions"))


def _contact(email: str, how: str) -> dict[str, Any]:
    return {"email": email, "source": "rdap:127.0.0.1", "confidence": 0.85, "how": how}


def _evidence(kind: str, query: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "server": "127.0.0.1",
        "query": query,
        "at": "2026-11-23T03:20:56.902681+00:00",
        "sha256": "40a5553e787d7655bd236e758bb35b7629e9a328439858d95a0a3b0d6b32fb31",
    }


TRACED: dict[str, Any] = {
    # A trace result of the size a real one has (1 to 2 KB), so that reading the traced
    # prefix costs the database what it costs in production. Its prefix holds every sandbox
    # address, so the hosting is unchanged for every case.
    "url": "http://files.example-host.bz/a/1001.bin",
    "host": "files.example-host.bz",
    "registrable_domain": "example-host.bz",
    "ips": ["127.16.0.10"],
    "cname_chain": [],
    "network": {
        "asn": None,
        "prefix": "127.0.0.0/8",
        "name": "HOSTINGBZ-NET",
        "organisation": "Hosting Belice Ltda.",
        "country": "BZ",
        "abuse_contacts": [_contact("abuse@hostingbz.example", "abuse entity nested")],
        "source": "rdap",
    },
    "registrar": {
        "name": "Registros Caribe S.A.",
        "iana_id": "9002",
        "abuse_contacts": [_contact("abuso@registros-caribe.example", "abuse entity")],
        "source": "rdap",
    },
    "cdn": None,
    "hosting_country": "BZ",
    "evidence": [
        _evidence("dns", "files.example-host.bz A"),
        _evidence("rdap", "domain/example-host.bz"),
        _evidence("rdap", "ip/127.16.0.10"),
    ],
    "errors": [],
}


def peak_rss_mb(pid: int | str = "self") -> float:
    """Peak resident memory of this process (or of ``pid``), in MiB.

    Read from ``VmHWM``: ``getrusage`` would report the parent's peak for a process started
    by ``exec`` (the kernel keeps it across ``execve``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def factory(settings: dict[str, str], limits: ProbeLimits) -> ProberFactory:
    def make() -> Prober:
        return build_prober(
            dns_nameservers=settings["TAKEDOWN_DNS_NAMESERVERS"],
            allowed_networks=settings["TAKEDOWN_PROBE_ALLOWED_NETWORKS"].split(","),
            user_agent="TakedownProbe/bench",
            limits=limits,
        )

    return make


def per_task_rate(engine: Engine, make: ProberFactory, sample: int) -> tuple[int, float]:
    """Check ``sample`` cases as one Prefect task per URL; return (checked, seconds)."""
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE
    from prefect.task_runners import ThreadPoolTaskRunner
    from prefect.testing.utilities import prefect_test_harness

    with unit_of_work(engine) as session:
        ids = list(session.scalars(text(f"SELECT id FROM cases ORDER BY id LIMIT {sample}")))

    @task(cache_policy=NO_CACHE)
    def probe_one(case_id: int) -> int:
        with unit_of_work(engine) as session:
            targets = load_targets(session, [case_id])

        async def run() -> Any:
            async with make() as prober:
                return await probe_targets(prober, targets)

        reports = asyncio.run(run())
        with unit_of_work(engine) as session:
            return record_checks(session, reports, policy=POLICY).checked

    @flow(task_runner=ThreadPoolTaskRunner[int](max_workers=64))  # type: ignore[arg-type]
    def per_url(case_ids: list[int]) -> int:
        return sum(f.result() for f in [probe_one.submit(i) for i in case_ids])

    with prefect_test_harness(server_startup_timeout=120):
        started = time.perf_counter()
        checked = per_url(ids)
        return checked, time.perf_counter() - started


def timed(label: str, work: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = work()
    elapsed = time.perf_counter() - started
    print(f"  {label}: {elapsed:.1f} s")
    return result, elapsed


def recheck_worker(args: argparse.Namespace) -> None:
    """One recheck process: run every due batch, print what it did as one JSON line."""
    lines = Path(args.settings).read_text().splitlines()
    settings = dict(
        line.split("=", 1) for line in lines if "=" in line and not line.startswith("#")
    )
    limits = ProbeLimits(timeout=15, concurrency=args.concurrency, per_host=args.per_host)
    engine = make_engine(args.worker_of, pool_size=args.workers + 2)
    cpu_before = time.process_time()
    started = time.time()
    try:
        summary = run_recheck(
            engine,
            factory(settings, limits),
            policy=POLICY,
            batch_size=args.batch_size,
            workers=args.workers,
            # Bounded: each case is due once, so this many batches is plenty.
            max_batches=args.urls // args.batch_size + 2 * args.workers + 1,
        )
    finally:
        engine.dispose()
    report = {
        "started": started,
        "ended": time.time(),
        "checked": summary.checked,
        "outcomes": dict(summary.outcomes),
        "cpu": time.process_time() - cpu_before,
        "rss_mb": peak_rss_mb(),
    }
    print(json.dumps(report), flush=True)


def run_workers(args: argparse.Namespace, database_url: str, settings_file: Path) -> list[Any]:
    """Start the recheck processes together and collect their reports."""
    command = [sys.executable, "-m", "bench.bench_recheck", "--worker-of", database_url]
    command += ["--settings", str(settings_file), "--urls", str(args.urls)]
    command += ["--workers", str(args.workers), "--batch-size", str(args.batch_size)]
    command += ["--concurrency", str(args.concurrency), "--per-host", str(args.per_host)]
    workers = [
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(args.processes)
    ]
    reports = []
    for worker in workers:
        out, _ = worker.communicate(timeout=RUN_LIMIT)
        if worker.returncode != 0:
            raise SystemExit(f"a recheck process failed (exit {worker.returncode})")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--urls", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=512)
    parser.add_argument("--per-host", type=int, default=8)
    parser.add_argument("--per-task-sample", type=int, default=300)
    parser.add_argument("--ceiling-requests", type=int, default=30_000)
    parser.add_argument("--worker-of", help=argparse.SUPPRESS)
    parser.add_argument("--settings", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker_of:
        recheck_worker(args)
        return
    print(
        f"recheck of {args.urls:,} URLs, {args.latency * 1000:.0f} ms per request; "
        f"{args.processes} processes x {args.workers} batches of {args.batch_size} in flight, "
        f"up to {args.concurrency} probes in flight per process"
    )
    with tempfile.TemporaryDirectory(prefix="bench-recheck-") as scratch:
        folder = Path(scratch)
        process, settings = start_sandbox(args.urls, args.latency, folder)
        try:
            with TemporaryPostgres() as server:
                migrate.upgrade(server.url)
                engine = make_engine(server.url)
                try:
                    opened, _ = timed(
                        "cases opened by intake",
                        lambda: open_cases(engine, Path(settings["TAKEDOWN_SANDBOX_REPORTS"])),
                    )
                    timed("vacuum after the bulk load", lambda: vacuum(engine))
                    postmaster = postmaster_pid(server.data)
                    sandbox_cpu = cpu_seconds(process.pid)
                    database_cpu = tree_cpu_seconds(postmaster)
                    reports = run_workers(args, server.url, folder / "sandbox.env")
                    database_cpu = tree_cpu_seconds(postmaster) - database_cpu
                    sandbox_cpu = cpu_seconds(process.pid) - sandbox_cpu
                    elapsed = max(r["ended"] for r in reports) - min(r["started"] for r in reports)
                    checked = sum(r["checked"] for r in reports)
                    outcomes: Counter[str] = Counter()
                    for report in reports:
                        outcomes.update(report["outcomes"])
                    print(f"  recheck: {elapsed:.1f} s, checked {checked:,} of {opened:,} cases")
                    print(f"  outcomes: {dict(outcomes)}")
                    print(
                        f"  throughput: {checked / elapsed:,.0f} checks/s (target 5,000); "
                        f"load average {os.getloadavg()[0]:.1f} (other work on the machine "
                        "slows the wall clock: compare CPU per check)"
                    )
                    print(
                        "  peak RSS per recheck process: "
                        + ", ".join(f"{r['rss_mb']:.0f} MiB" for r in reports)
                        + f" (target under 500); sandbox {peak_rss_mb(process.pid):.0f} MiB"
                    )
                    print(
                        "  CPU seconds: recheck "
                        + " + ".join(f"{r['cpu']:.1f}" for r in reports)
                        + f", sandbox {sandbox_cpu:.1f}, database server {database_cpu:.1f}"
                    )
                    engine_cpu = sum(r["cpu"] for r in reports)
                    print(
                        f"  CPU per check: engine {per_check(engine_cpu, checked)} ms "
                        f"(recheck processes), sandbox {per_check(sandbox_cpu, checked)} ms, "
                        f"database server {per_check(database_cpu, checked)} ms"
                    )
                    if args.ceiling_requests > 0:
                        compare_ceiling(args, settings, checked / elapsed)
                    if args.per_task_sample > 0:
                        compare_per_task(args, engine, settings, elapsed)
                finally:
                    engine.dispose()
        finally:
            stop(process)


def compare_per_task(
    args: argparse.Namespace, engine: Engine, settings: dict[str, str], elapsed: float
) -> None:
    """The same checks as one Prefect task per URL, on a sample, extrapolated to the world."""
    with unit_of_work(engine) as session:
        session.execute(text("UPDATE cases SET next_check_at = NULL"))
    make = factory(settings, ProbeLimits(timeout=15))
    sample, seconds = per_task_rate(engine, make, args.per_task_sample)
    rate = sample / seconds
    print(
        f"  one Prefect task per URL: {sample} URLs in {seconds:.1f} s = "
        f"{rate:,.0f} checks/s; {args.urls:,} URLs would take "
        f"{args.urls / rate / 60:,.0f} min (extrapolated from the sample) "
        f"against {elapsed / 60:.1f} min in batches"
    )


def compare_ceiling(args: argparse.Namespace, settings: dict[str, str], rate: float) -> None:
    """The loopback request ceiling, measured now on the same sandbox, and the ratio to it."""
    reports = Path(settings["TAKEDOWN_SANDBOX_REPORTS"])
    with reports.open(newline="", encoding="utf-8") as source:
        rows = islice(csv.DictReader(source), args.ceiling_requests)
        urls = [row["url"] for row in rows]
    in_flight = args.processes * args.concurrency
    load = os.getloadavg()[0]
    ceiling = uvloop.run(
        measure(urls, dns=settings["TAKEDOWN_DNS_NAMESERVERS"], in_flight=in_flight)
    )
    answered = ", ".join(f"{n:,} x {status}" for status, n in sorted(ceiling.statuses.items()))
    print(
        f"  loopback ceiling: {ceiling.rate:,.0f} requests/s ({ceiling.requests:,} requests in "
        f"{ceiling.seconds:.1f} s, {in_flight} in flight, a bare keep-alive client: {answered}; "
        f"client CPU {per_check(ceiling.cpu_seconds, ceiling.requests)} ms per request; "
        f"load average {load:.1f})"
    )
    print(
        f"  recheck / ceiling: {rate:,.0f} / {ceiling.rate:,.0f} = {rate / ceiling.rate:.2f}"
        if ceiling.rate
        else "  recheck / ceiling: no ceiling measured"
    )


def per_check(seconds: float, checked: int) -> str:
    return f"{1000 * seconds / max(checked, 1):.3f}"


if __name__ == "__main__":
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    main()
