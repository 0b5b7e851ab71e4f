"""Intake memory: a 500 MB report file into the database, and the peak memory it took.

Run: .venv/bin/python -m bench.bench_intake_memory [--mib 500] [--database postgresql|sqlite]
Writes a CSV file of the given size into a temporary folder (rows like bench_intake's, each with
a note of a few hundred characters, as analysts write them), ingests it in a fresh process, and
prints that process's peak resident memory (target: under 200 MB for 500 MB) next to the same
figure for the process that only imported the engine and opened the database, as a ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from settings import DEFAULT_CATEGORIES

HEADER = "report_id,url,confirmed_at,category,source,analyst,content_sha256,notes\n"


def write_file(path: Path, size: int, seed: int = 11) -> int:
    """Write a report file of about ``size`` bytes; return its row count."""
    rng = random.Random(seed)
    words = ["mirror", "gallery", "forum", "thread", "archive", "upload", "page", "link"]
    rows = 0
    written = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        while written < size:
            batch = []
            for _ in range(1000):
                i = rows
                n = i if rng.random() < 0.9 else rng.randrange(max(1, i))
                host = f"host{n % 5000}.provider{n % 97}.example"
                digest = f"{rng.getrandbits(256):064x}" if i % 3 == 0 else ""
                note = " ".join(rng.choice(words) for _ in range(60))
                batch.append(
                    f"mem-{i},http://{host}/files/{n:08d}/item.bin?k={n % 13},"
                    f"2026-11-{1 + i % 20:02d}T{i % 24:02d}:00:00Z,{DEFAULT_CATEGORIES[i % 4]},"
                    f"{('bz', 'ky', 'gb')[i % 3]},analyst-{i % 7},{digest},{note}\n"
                )
                rows += 1
            text = "".join(batch)
            out.write(text)
            written += len(text)
    return rows


def child(url: str, path: str, ingest: bool) -> None:
    """Ingest ``path`` into ``url`` (or only get ready to) and print figures as JSON."""
    from registry.db import make_engine, unit_of_work
    from registry.intake.service import ingest_file

    engine = make_engine(url)
    started = time.perf_counter()
    with unit_of_work(engine) as session:
        session.connection()
        if ingest:
            with open(path, "rb") as stream:
                result = ingest_file(
                    session,
                    stream,
                    Path(path).name,
                    categories=DEFAULT_CATEGORIES,
                    default_source="local",
                )
            summary = result.to_json() | {"rejected": len(result.rejected)}
        else:
            summary = {}
    elapsed = time.perf_counter() - started
    engine.dispose()
    # ru_maxrss is in KiB on Linux: the peak resident set of this whole process.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"peak_rss": peak, "seconds": elapsed, **summary}))


def run_child(url: str, path: Path, *, ingest: bool) -> dict[str, float]:
    args = [sys.executable, "-m", "bench.bench_intake_memory", "--child", url, str(path)]
    if not ingest:
        args.append("--no-ingest")
    done = subprocess.run(args, check=True, capture_output=True, text=True)
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mib", type=float, default=500 / 1.048576, help="file size in MiB")
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--child", nargs=2, metavar=("URL", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--no-ingest", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], not args.no_ingest)
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "reports.csv"
        rows = write_file(path, int(args.mib * 2**20))
        size = path.stat().st_size
        print(f"intake of a {size / 1e6:,.0f} MB file ({rows:,} rows) into {args.database}")
        if args.database == "sqlite":
            measure(f"sqlite:///{Path(folder) / 'bench.db'}", path, rows)
        else:
            from tests.support.postgres import TemporaryPostgres

            with TemporaryPostgres() as server:
                measure(server.url, path, rows)


def measure(url: str, path: Path, rows: int) -> None:
    from registry import migrate

    migrate.upgrade(url)
    ready = run_child(url, path, ingest=False)
    done = run_child(url, path, ingest=True)
    assert done["received"] == rows and not done["rejected"], done
    peak, base = done["peak_rss"] / 2**20, ready["peak_rss"] / 2**20
    print(
        f"  peak memory {peak:6.1f} MiB ({peak * 1.048576:.0f} MB; target under 200 MB), "
        f"{peak / base:.2f}x the {base:.1f} MiB of a process that only imported and connected"
    )
    print(
        f"  {done['seconds']:.1f} s, {rows / done['seconds']:,.0f} rows/s; "
        f"load {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
