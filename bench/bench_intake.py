"""Intake throughput: 100,000 generated confirmed reports into SQLite and into PostgreSQL.

Run: .venv/bin/python -m bench.bench_intake [--rows N] [--runs N] [--postgres-only]
Prints rows per second for each backend (target: at least 50,000 rows/s on PostgreSQL), and
under each the CPU seconds of the phases (read, validate, store) in this process, the CPU
seconds of the PostgreSQL server process that did the work, and the load average: on a shared
machine wall-clock figures are only as good as the load beside them. On PostgreSQL the ceiling
is measured in the same run, on the same server: a plain ``COPY`` of the same file into a bare
table (no index, no key, no validation), and the schema's floor: the same cases, reports and
case events written into the real tables by three plain statements, with every index and key
but none of the intake's checks. The intake's rate is printed as a share of each.
The rows mimic a real feed: 90% distinct URLs, 10% further reports of an already seen URL.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import tempfile
import time
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from registry import migrate
from registry.db import make_engine, unit_of_work
from registry.intake.service import ingest_file
from settings import DEFAULT_CATEGORIES
from tests.support.postgres import TemporaryPostgres


def generate(rows: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    lines = ["report_id,url,confirmed_at,category,source,analyst,content_sha256,notes"]
    distinct = int(rows * 0.9)
    for i in range(rows):
        n = i if i < distinct else rng.randrange(distinct)
        host = f"host{n % 5000}.provider{n % 97}.example"
        digest = f"{rng.getrandbits(256):064x}" if i % 3 == 0 else ""
        lines.append(
            f"bench-{i},http://{host}/files/{n:08d}/item.bin?k={n % 13},"
            f"2026-11-{1 + i % 20:02d}T{i % 24:02d}:00:00Z,{DEFAULT_CATEGORIES[i % 4]},"
            f"{('bz', 'ky', 'gb')[i % 3]},analyst-{i % 7},{digest},"
        )
    return ("\n".join(lines) + "\n").encode()


def measure(url: str, data: bytes) -> tuple[float, int, str]:
    migrate.upgrade(url)
    engine = make_engine(url)
    phases: dict[str, float] = {}
    try:
        started = time.perf_counter()
        with unit_of_work(engine) as session:
            server = _server_pid(session)
            server_cpu = _process_cpu(server)
            result = ingest_file(
                session,
                data,
                "bench.csv",
                categories=DEFAULT_CATEGORIES,
                default_source="local",
                phase_cpu=phases,
            )
            server_cpu = _process_cpu(server) - server_cpu
        elapsed = time.perf_counter() - started
    finally:
        engine.dispose()
    assert not result.rejected, result.rejected[:3]
    breakdown = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in phases.items())
    if server is not None:
        breakdown += f"; server {server_cpu:.2f} s"
    return elapsed, result.received, f"cpu: {breakdown}; load {os.getloadavg()[0]:.2f}"


def _server_pid(session: Session) -> int | None:
    if session.get_bind().dialect.name != "postgresql":
        return None
    pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    return int(pid)


def _process_cpu(pid: int | None) -> float:
    """User plus system CPU seconds of a process on this machine (Linux), else 0."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ceiling(url: str, data: bytes) -> float:
    """Seconds a plain COPY of the file takes into a bare table of text columns."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            columns = data[: data.index(b"\n")].decode().split(",")
            cursor.execute(f"CREATE TEMP TABLE ceiling ({', '.join(f'{c} text' for c in columns)})")
            started = time.perf_counter()
            cursor.copy_expert(
                "COPY ceiling FROM STDIN WITH (FORMAT csv, HEADER)", io.BytesIO(data)
            )
            elapsed = time.perf_counter() - started
            cursor.execute("DROP TABLE ceiling")
    finally:
        engine.dispose()
    return elapsed


def schema_floor(url: str, data: bytes) -> float:
    """Seconds three plain statements take to write the file's cases, reports and case events
    into the real tables (every index and key the schema has), in a database of their own.

    No normalisation, validation, duplicate handling or concurrency safety: the cost of the
    rows themselves, which no intake on this schema can go below.
    """
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            columns = data[: data.index(b"\n")].decode().split(",")
            cursor.execute(f"CREATE TEMP TABLE f ({', '.join(f'{c} text' for c in columns)})")
            cursor.copy_expert("COPY f FROM STDIN WITH (FORMAT csv, HEADER)", io.BytesIO(data))
            cursor.execute("SET LOCAL jit = off")
            started = time.perf_counter()
            for statement in _FLOOR:
                cursor.execute(statement)
            elapsed = time.perf_counter() - started
    finally:
        engine.dispose()
    return elapsed


_FLOOR = (
    """INSERT INTO cases (url, url_sha256, display_url, host, registrable_domain, status,
        is_open, escalation_level, needs_analyst, category, trace_attempts, notice_round,
        consecutive_removed, confirmed_at, opened_at, updated_at)
    SELECT DISTINCT ON (url) url, encode(sha256(convert_to(url, 'UTF8')), 'hex'), url,
        split_part(url, '/', 3), split_part(url, '/', 3), 'new', true, 0, false, category,
        0, 0, 0, confirmed_at::timestamptz, now(), now()
    FROM f ORDER BY url""",
    """INSERT INTO reports (source, report_id, case_id, url, confirmed_at, category, analyst,
        content_sha256, notes, had_userinfo, received_at)
    SELECT f.source, f.report_id, c.id, f.url, f.confirmed_at::timestamptz, f.category,
        f.analyst, nullif(f.content_sha256, ''), f.notes, false, now()
    FROM f JOIN cases c ON c.url_sha256 = encode(sha256(convert_to(f.url, 'UTF8')), 'hex')""",
    """INSERT INTO case_events (case_id, at, kind, actor, reason)
    SELECT case_id, now(), 'report_attached', 'intake', 'report ' || source || '/' || report_id
    FROM reports""",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1, help="runs on each backend")
    parser.add_argument("--postgres-only", action="store_true")
    args = parser.parse_args()
    data = generate(args.rows)
    print(f"intake of {args.rows:,} rows ({len(data) / 2**20:.1f} MiB of CSV)")
    if not args.postgres_only:
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as folder:
                elapsed, rows, cpu = measure(f"sqlite:///{Path(folder) / 'bench.db'}", data)
            print(f"  sqlite      {elapsed:6.2f} s  {rows / elapsed:9,.0f} rows/s")
            print(f"              {cpu}")
    with TemporaryPostgres() as server:
        for run in range(args.runs):
            database = f"bench{run}"
            server.execute(f"CREATE DATABASE {database}")
            url = server.url_for(database)
            elapsed, rows, cpu = measure(url, data)
            bound = ceiling(url, data)
            server.execute(f"CREATE DATABASE floor{run}")
            floor = schema_floor(server.url_for(f"floor{run}"), data)
            print(f"  postgresql  {elapsed:6.2f} s  {rows / elapsed:9,.0f} rows/s")
            print(
                f"              {floor / elapsed:.0%} of the schema's floor (its rows written "
                f"by three plain statements: {floor:.2f} s, {rows / floor:,.0f} rows/s)"
            )
            print(
                f"              {bound / elapsed:.0%} of the ceiling (plain COPY of the file "
                f"into a bare table: {bound:.2f} s, {rows / bound:,.0f} rows/s)"
            )
            print(f"              {cpu}")


if __name__ == "__main__":
    main()
