"""Statistics, chart and blocking list over 100,000 cases, on SQLite and on PostgreSQL.

Run: .venv/bin/python -m bench.bench_stats [--cases N]
Prints the seconds each step takes per backend (target: a few seconds for 100,000 cases).
The cases mimic a busy year: 60 providers in 25 countries, 85% notified, 70% removed, a few
reappearances.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from registry import migrate
from registry.bulk.writes import insert_rows
from registry.db import make_engine, unit_of_work
from registry.models import Case, CaseEvent
from registry.reporting.blocklist import BlocklistFormat, render_blocklist
from registry.reporting.stats import compute_stats
from registry.status import CaseStatus, EventKind
from takedown.charts import removal_time_chart
from tests.support.postgres import TemporaryPostgres

COUNTRIES = [f"{chr(65 + i)}{chr(66 + i)}" for i in range(25)]
START = datetime(2026, 1, 1, tzinfo=UTC)


def generate(cases: int, seed: int = 11) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for i in range(1, cases + 1):
        url = f"http://host{i % 7000}.provider{i % 60}.example/item/{i}"
        confirmed = START + timedelta(minutes=rng.randrange(300 * 24 * 60))
        notified = rng.random() < 0.85
        first_notice = confirmed + timedelta(minutes=rng.randrange(5, 600)) if notified else None
        removed = (
            first_notice + timedelta(minutes=int(rng.lognormvariate(6, 1.3)))
            if first_notice and rng.random() < 0.82
            else None
        )
        status = (
            CaseStatus.REMOVED if removed else (CaseStatus.NOTIFIED if notified else CaseStatus.NEW)
        )
        rows.append(
            {
                "id": i,
                "url": url,
                "url_sha256": hashlib.sha256(url.encode()).hexdigest(),
                "display_url": url.replace("http", "hxxp"),
                "host": url.split("/")[2],
                "status": status.value,
                "is_open": True,
                "escalation_level": 0,
                "needs_analyst": False,
                "category": "A",
                "hosting_country": COUNTRIES[i % 25],
                "hosting_network": f"NET-{i % 60}",
                "trace_attempts": 1,
                "notice_round": 1,
                "consecutive_removed": 0,
                "confirmed_at": confirmed,
                "opened_at": confirmed,
                "first_notice_at": first_notice,
                "removal_verified_at": removed,
                "updated_at": confirmed,
            }
        )
        if removed and rng.random() < 0.03:
            events.append(
                {
                    "case_id": i,
                    "at": removed + timedelta(days=2),
                    "kind": EventKind.TRANSITION.value,
                    "from_status": CaseStatus.REMOVED.value,
                    "to_status": CaseStatus.REAPPEARED.value,
                    "actor": "bench",
                    "reason": "",
                }
            )
    return rows, events


def measure(url: str, rows: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with unit_of_work(engine) as session:
            insert_rows(session, Case.__table__, rows)  # type: ignore[arg-type]
            insert_rows(session, CaseEvent.__table__, events)  # type: ignore[arg-type]
        started = time.perf_counter()
        with unit_of_work(engine) as session:
            stats = compute_stats(session)
        computed = time.perf_counter()
        png = removal_time_chart(stats)
        drawn = time.perf_counter()
        with unit_of_work(engine) as session:
            listing = render_blocklist(session, BlocklistFormat.CSV)
        listed = time.perf_counter()
    finally:
        engine.dispose()
    print(
        f"    stats {computed - started:5.2f} s ({stats.overall.to_removal.count:,} removals)"
        f"   chart {drawn - computed:5.2f} s ({len(png) // 1024} KiB)"
        f"   blocklist {listed - drawn:5.2f} s ({listing.count(chr(10)) - 1:,} URLs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    args = parser.parse_args()
    rows, events = generate(args.cases)
    print(f"statistics over {args.cases:,} cases")
    with tempfile.TemporaryDirectory() as folder:
        print("  sqlite")
        measure(f"sqlite:///{Path(folder) / 'bench.db'}", rows, events)
    with TemporaryPostgres() as server:
        print("  postgresql")
        measure(server.url, rows, events)


if __name__ == "__main__":
    main()
