"""Web app under load: 50 concurrent clients listing cases and downloading evidence bundles.

Run: .venv/bin/python -m bench.bench_web [--cases N] [--clients C] [--seconds S] [--postgres]
[--locust]

Builds a database of 100,000 cases (through the real intake) of which a few hundred carry
notices, resolutions, evidence and checks; starts ``takedown serve`` on a free loopback port
in its own process; then C clients (an asyncio loop of back-to-back requests, no think time)
list cases (filters and keyset pages, as an analyst and as a liaison officer) and download
bundles for S seconds. Prints requests, failures, throughput and p50/p95/p99 latency per
kind; target (issue 18): no failure and p99 under 200 ms. Also prints the query plans of the
case list, and the CPU the server and the load generator each used (they share the machine's
cores).

The ceiling, measured in the same run against the same server: the same clients asking
``/api/me`` (authenticated, answered from memory, no database work), so the figure is also
printed as a share of what this server, machine and load generator can do at that moment.
With ``--locust``, the same mix and the same ceiling are measured again with Locust
(``bench/locustfile_web.py``, headless, C users).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from csv import DictReader
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import Engine, select, text

from bench.bench_intake import generate
from bench.cpu import postmaster_pid, tree_cpu_seconds
from bench.loadgen import Connection, ProtocolError
from records.signing import new_private_key
from registry import migrate
from registry.db import make_engine, unit_of_work
from registry.intake.service import ingest_file
from registry.models import (
    Case,
    CaseEvent,
    Check,
    Evidence,
    Notice,
    Resolution,
    notice_cases,
)
from registry.status import CaseStatus, CheckOutcome, EventKind, NoticeStatus
from registry.users import create_user, issue_token
from settings import DEFAULT_CATEGORIES
from tests.support.postgres import TemporaryPostgres

AGENCY = "nl-hotline"
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def build(url: str, cases: int, referred: int) -> tuple[dict[str, str], list[int]]:
    """Cases through the real intake; notices and evidence on ``referred`` of them."""
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with unit_of_work(engine) as session:
            ingest_file(
                session,
                generate(cases),
                "bench.csv",
                categories=DEFAULT_CATEGORIES,
                default_source="local",
            )
        ids = _enrich(engine, referred)
        with unit_of_work(engine) as session:
            analyst = create_user(session, "bench-analyst", "analyst")
            liaison = create_user(session, "bench-liaison", "liaison", agency=AGENCY)
            tokens = {
                "analyst": issue_token(session, analyst),
                "liaison": issue_token(session, liaison),
            }
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))  # in a transaction rolled back, it was lost
        _print_plans(engine)
    finally:
        engine.dispose()
    return tokens, ids


def _enrich(engine: Engine, count: int) -> list[int]:
    rng = random.Random(11)
    with unit_of_work(engine) as session:
        all_ids = list(session.scalars(select(Case.id)))
        chosen = sorted(rng.sample(all_ids, count))
        countries = ["NL", "GB", "US", "BZ", "KY"]
        for number, case_id in enumerate(chosen):
            case = session.get(Case, case_id)
            assert case is not None
            case.status = CaseStatus.NOTIFIED
            case.hosting_country = countries[number % len(countries)]
            case.traced_at = T0 + timedelta(minutes=5)
            case.first_notice_at = T0 + timedelta(minutes=10)
            resolution = Resolution(case_id=case_id, ok=True, result={"host": case.host})
            session.add(resolution)
            session.flush()
            raw = f"netname: BENCH-NET-{number}\nabuse-mailbox: abuse@{case.host}\n" * 20
            session.add(
                Evidence(
                    resolution_id=resolution.id,
                    kind="network-whois",
                    server="whois.example",
                    query="192.0.2.1",
                    at=T0,
                    sha256=hashlib.sha256(raw.encode()).hexdigest(),
                    raw=raw,
                )
            )
            for step in range(3):
                session.add(
                    CaseEvent(
                        case_id=case_id,
                        at=T0 + timedelta(minutes=step),
                        kind=EventKind.NOTE,
                        actor="bench",
                        reason=f"step {step}",
                    )
                )
                session.add(
                    Check(
                        case_id=case_id, at=T0 + timedelta(hours=step), outcome=CheckOutcome.PRESENT
                    )
                )
            # A handful of distinct notice texts, as real notices share their templates.
            body = _message(number % 8)
            notice = Notice(
                kind="hotline_referral",
                status=NoticeStatus.SENT,
                recipient_email="referrals@nl-hotline.example",
                recipient_role="hotline",
                partner_code=AGENCY,
                language="en",
                reason="hosted where the partner operates",
                rendered=body,
                rendered_sha256=hashlib.sha256(body.encode()).hexdigest(),
                xarf_json=json.dumps({"category": "content", "type": "csam"}),
                created_at=T0,
            )
            session.add(notice)
            session.flush()
            session.execute(notice_cases.insert().values(notice_id=notice.id, case_id=case_id))
    return chosen


def _message(variant: int) -> str:
    from email.message import EmailMessage

    message = EmailMessage()
    message["Subject"] = f"Referral {variant}"
    message.set_content("Referral of confirmed material.\n" * 10)
    message.add_alternative(
        "<html><body>"
        + f"<p>Referral {variant} of confirmed material.</p>" * 20
        + "</body></html>",
        subtype="html",
    )
    return message.as_string()


def _print_plans(engine: Engine) -> None:
    # The SQL that registry.queries.list_cases and registry.referrals generate, written out.
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    queries = {
        "all, newest first": "SELECT id FROM cases WHERE id < 50000 ORDER BY id DESC LIMIT 51",
        "by status": "SELECT id FROM cases WHERE status = 'notified' ORDER BY id DESC LIMIT 51",
        "by country": "SELECT id FROM cases WHERE hosting_country = 'NL' ORDER BY id DESC LIMIT 51",
        "by host": "SELECT id FROM cases WHERE host = 'host7.provider7.example' "
        "ORDER BY id DESC LIMIT 51",
        "liaison's referrals": "SELECT id FROM cases WHERE id IN (SELECT notice_cases.case_id "
        "FROM notice_cases JOIN notices ON notices.id = notice_cases.notice_id WHERE "
        "notices.partner_code = 'nl-hotline') ORDER BY id DESC LIMIT 51",
    }
    print(f"query plans ({engine.dialect.name}):")
    with engine.connect() as connection:
        for label, sql in queries.items():
            rows = connection.execute(text(explain + sql)).all()
            plan = " | ".join(str(row[-1]) for row in rows)
            print(f"  {label}: {plan}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(url: str, port: int, folder: Path, workers: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TAKEDOWN_DATABASE_URL": url,
        "TAKEDOWN_SIGNING_KEY": new_private_key(),
        "TAKEDOWN_COOKIE_SECURE": "false",
    }
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "takedown", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=folder,
    )
    log.close()
    # Ready when a page answers: the port is bound before the worker processes are up.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as probe:
                probe.sendall(b"GET /sign-in HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
                if probe.recv(16).startswith(b"HTTP/1.1 200"):
                    return process
        except OSError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the server did not start; see {folder / 'server.log'}")


async def load(
    base: str,
    tokens: dict[str, str],
    ids: list[int],
    clients: int,
    seconds: float,
    *,
    first_pass: bool = False,
    ceiling: bool = False,
) -> dict[str, list[float]]:
    """Back-to-back requests from ``clients`` tasks, one keep-alive connection each, for
    ``seconds``; with ``first_pass``, each bundle of ``ids`` is downloaded exactly once
    instead (and nothing else); with ``ceiling``, only ``/api/me``."""
    latencies: dict[str, list[float]] = defaultdict(list)
    failures: list[str] = []
    stop = time.monotonic() + seconds
    queue = list(ids) if first_pass else []
    address = urlsplit(base)
    host, port = address.hostname, address.port
    assert host is not None and port is not None

    async def one(number: int) -> None:
        rng = random.Random(number)
        connection = Connection(host, port, timeout=30.0)
        try:
            while queue if first_pass else time.monotonic() < stop:
                role = "liaison" if rng.random() < 0.3 else "analyst"
                headers = {"Authorization": f"Bearer {tokens[role]}"}
                params: dict[str, str] = {}
                if ceiling:
                    kind, path = "me", "/api/me"
                elif first_pass or rng.random() < 0.5:
                    kind = "bundle"
                    case_id = queue.pop() if first_pass else rng.choice(ids)
                    path = f"/api/cases/{case_id}/bundle"
                else:
                    kind = f"list ({role})"
                    path = "/api/cases"
                    params = rng.choice(
                        [
                            {},
                            {"status": "notified"},
                            {"country": "NL"},
                            {"before": str(rng.randrange(2, 100_000))},
                            {"age": "older-7d"},
                        ]
                    )
                started = time.perf_counter()
                try:
                    reply = await connection.get(path, params, headers)
                    problem = None if reply.status == 200 else str(reply.status)
                except (OSError, TimeoutError, ProtocolError, asyncio.IncompleteReadError) as exc:
                    problem = repr(exc)
                elapsed = time.perf_counter() - started
                latencies[kind].append(elapsed)
                latencies["all"].append(elapsed)
                if problem is not None:
                    failures.append(f"{path}: {problem}")
        finally:
            await connection.close()

    await asyncio.gather(*(one(n) for n in range(clients)))
    latencies["failures"] = [float(len(failures))]
    for failure in failures[:5]:
        print("  failure:", failure)
    return latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def report(latencies: dict[str, list[float]], seconds: float) -> tuple[float, float]:
    """Print the figures; returns requests a second and the p99 in seconds."""
    failures = int(latencies.pop("failures")[0])
    if not latencies["all"]:
        print("no requests")
        return 0.0, 0.0
    total = len(latencies["all"])
    print(
        f"requests: {total:,} in {seconds:.0f} s ({total / seconds:,.0f}/s), failures: {failures}"
    )
    for kind in sorted(latencies, key=lambda k: (k != "all", k)):
        values = latencies[kind]
        print(
            f"  {kind:<18} n={len(values):>6,}  p50={percentile(values, 0.5) * 1000:6.1f} ms"
            f"  p95={percentile(values, 0.95) * 1000:6.1f} ms"
            f"  p99={percentile(values, 0.99) * 1000:6.1f} ms"
            f"  mean={statistics.fmean(values) * 1000:6.1f} ms"
        )
    p99 = percentile(latencies["all"], 0.99)
    verdict = "met" if failures == 0 and p99 < TARGET_P99 else "NOT met"
    print(f"target (no failure, p99 < {TARGET_P99 * 1000:.0f} ms): {verdict}")
    return total / seconds, p99


TARGET_P99 = 0.2


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def compare(label: str, rate: float, p99: float, ceiling_rate: float, ceiling_p99: float) -> None:
    """The figure as a share of the ceiling measured in the same run."""
    share = rate / ceiling_rate if ceiling_rate else float("nan")
    print(
        f"{label}: {rate:,.0f} req/s, p99 {p99 * 1000:.0f} ms; ceiling (/api/me, same server, "
        f"same run): {ceiling_rate:,.0f} req/s, p99 {ceiling_p99 * 1000:.0f} ms; "
        f"ratio {share:.2f} of the ceiling (load average {load_average()})"
    )


def locust(
    base: str,
    tokens: dict[str, str],
    ids: list[int],
    args: argparse.Namespace,
    folder: Path,
    mix: str,
    server: int,
) -> tuple[float, float]:
    """Locust, headless, ``args.clients`` users for ``args.seconds`` with the ``mix`` of
    ``bench/locustfile_web.py``; prints and returns requests a second and the p99."""
    prefix = folder / f"locust-{mix}"
    env = {
        **os.environ,
        "BENCH_WEB_TOKENS": json.dumps(tokens),
        "BENCH_WEB_CASES": ",".join(map(str, ids)),
        "BENCH_WEB_MIX": mix,
    }
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(Path(__file__).with_name("locustfile_web.py")),
        "--headless",
        "--users",
        str(args.clients),
        "--spawn-rate",
        str(args.clients),
        "--run-time",
        f"{max(1, round(args.seconds))}s",
        "--host",
        base,
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    cpu_before = tree_cpu_seconds(server)
    own_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        command, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    own_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = tree_cpu_seconds(server) - cpu_before
    own = (own_after.ru_utime + own_after.ru_stime) - (own_before.ru_utime + own_before.ru_stime)
    with open(f"{prefix}_stats.csv", newline="") as stats:
        rows = {row["Name"]: row for row in DictReader(stats)}
    total = rows["Aggregated"]
    count = int(total["Request Count"])
    rate, p99 = float(total["Requests/s"]), float(total["99%"]) / 1000
    print(
        f"locust ({mix}, {args.clients} users, {args.seconds:.0f} s): {count:,} requests "
        f"({rate:,.0f}/s), failures: {total['Failure Count']}, p50 {total['50%']} ms, "
        f"p95 {total['95%']} ms, p99 {total['99%']} ms"
    )
    for name, row in sorted(rows.items()):
        if name != "Aggregated":
            print(f"  {name:<8} n={int(row['Request Count']):>6,}  p99={row['99%']} ms")
    served = max(count, 1)
    print(
        f"  server CPU {cpu / served * 1000:.1f} ms a request, Locust CPU "
        f"{own / served * 1000:.1f} ms a request"
    )
    return rate, p99


def run(url: str, args: argparse.Namespace, folder: Path, database: int | None = None) -> None:
    """The benchmark against ``url``; ``database`` is the database server's process, if any."""
    started = time.perf_counter()
    tokens, ids = build(url, args.cases, args.referred)
    took = time.perf_counter() - started
    print(f"built {args.cases:,} cases ({args.referred} with records) in {took:.1f} s")
    port = free_port()
    server = start_server(url, port, folder, args.workers)
    try:
        base = f"http://127.0.0.1:{port}"
        # A notice's PDF is rendered on its first download, then kept by the server process.
        # First the cold phase (every bundle new to the server), then the steady state.
        print(f"cold: {args.clients} clients, bundles rendered for the first time")
        cold_started = time.perf_counter()
        cold = asyncio.run(load(base, tokens, ids, args.clients, 0.0, first_pass=True))
        report(cold, time.perf_counter() - cold_started)
        print(f"ceiling: {args.clients} clients asking /api/me for {args.ceiling_seconds:.0f} s")
        top = asyncio.run(load(base, tokens, ids, args.clients, args.ceiling_seconds, ceiling=True))
        ceiling_rate, ceiling_p99 = report(top, args.ceiling_seconds)
        print(f"steady state: {args.clients} clients for {args.seconds:.0f} s")
        cpu_before, own_before = tree_cpu_seconds(server.pid), time.process_time()
        db_before = tree_cpu_seconds(database) if database else 0.0
        latencies = asyncio.run(load(base, tokens, ids, args.clients, args.seconds))
        cpu = tree_cpu_seconds(server.pid) - cpu_before
        own = time.process_time() - own_before
        db = tree_cpu_seconds(database) - db_before if database else None
        rate, p99 = report(latencies, args.seconds)
        served = max(len(latencies["all"]), 1)
        shares = [("server", cpu), ("load generator", own)]
        if db is not None:
            shares.append(("database server", db))
        for who, seconds in shares:
            print(
                f"{who} CPU: {seconds:.1f} s ({seconds / served * 1000:.1f} ms a request; "
                f"{seconds / args.seconds:.0%} of one core)"
            )
        cores = os.cpu_count() or 1
        per_request = (cpu + own + (db or 0.0)) / served
        print(
            f"CPU per request (server, load generator and database): {per_request * 1000:.1f} ms;"
            f" {cores} cores at full use would serve at most {cores / per_request:,.0f} req/s"
        )
        compare("figure", rate, p99, ceiling_rate, ceiling_p99)
        if args.locust:
            l_ceiling = locust(base, tokens, ids, args, folder, "ceiling", server.pid)
            l_figure = locust(base, tokens, ids, args, folder, "cases", server.pid)
            compare("locust figure", *l_figure, *l_ceiling)
        print(f"load average: {load_average()}")
    finally:
        server.terminate()
        server.wait(timeout=30)
        log = (folder / "server.log").read_text(errors="replace").strip().splitlines()
        problems = [line for line in log if "Error" in line or "Traceback" in line]
        if problems:
            print("server log (errors):", *problems[-10:], sep="\n  ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--referred", type=int, default=300)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument(
        "--ceiling-seconds", type=float, default=10.0, help="how long the /api/me ceiling runs"
    )
    parser.add_argument(
        "--locust", action="store_true", help="also measure with Locust (bench/locustfile_web.py)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        folder = Path(tmp)
        if args.postgres:
            server = TemporaryPostgres().start()
            try:
                print("PostgreSQL")
                run(server.url, args, folder, postmaster_pid(server.data))
            finally:
                server.stop()
        else:
            print("SQLite")
            run(f"sqlite:///{folder / 'bench.db'}", args, folder)


if __name__ == "__main__":
    main()
