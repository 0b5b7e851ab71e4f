"""The outbox end to end: 10,000 notices rendered (with X-ARF), stored, claimed and delivered.

    python -m bench.bench_deliver [--notices 10000] [--backend sqlite|postgresql|both]

10,000 traced cases, each with its own host desk (so grouping leaves 10,000 notices), are
written straight into a fresh database. ``notify`` then plans, renders and stores their notices
in batches of 500, as the flow does; delivery claims them in batches and sends them over one
SMTP connection per batch, committing each message's intent and outcome, to aiosmtpd's
discarding relay in a separate process on 127.0.0.1. Targets: rendering at least 2,000
notices/s, delivery at least 200 messages/s.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, func, select

from bench.bench_render import EXAMPLE, free_port, start_relay
from notices.directory import load_directory
from notices.mail.message import NoticeComposer, RenderedNotice
from notices.routing import PlannedNotice
from notices.transport.smtp import SmtpSettings, SmtpTimeouts, SmtpTransport
from registry import migrate
from registry.bulk.writes import insert_rows
from registry.db import make_engine, unit_of_work
from registry.delivery.batch import deliver_batch
from registry.models import Case, Notice, Report, Resolution
from registry.notifying.service import notify_cases
from registry.status import CaseStatus, NoticeStatus
from tests.support.postgres import TemporaryPostgres

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # a Monday afternoon: the window is open
NOTIFY_BATCH = 500
DELIVER_BATCH = 200
COUNTRIES = ("FR", "DE", "MX", "BR", "IN")  # hosts told directly, no partner in the example


class TimedComposer(NoticeComposer):
    """A composer that adds up the time spent composing, to tell rendering from the rest."""

    seconds = 0.0

    def compose(self, notice: PlannedNotice, notice_id: str | int, now: datetime) -> RenderedNotice:
        started = time.perf_counter()
        try:
            return super().compose(notice, notice_id, now)
        finally:
            self.seconds += time.perf_counter() - started


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def seed(engine: Engine, count: int) -> None:
    """``count`` traced cases, each with a report and a resolution naming its own host desk."""
    confirmed = NOW - timedelta(hours=2)
    cases, reports, resolutions = [], [], []
    for n in range(1, count + 1):
        host = f"files.provider{n}.example"
        url = f"http://{host}/{n}/item.jpg?id={n:08x}"
        country = COUNTRIES[n % len(COUNTRIES)]
        cases.append(
            {
                "id": n,
                "url": url,
                "url_sha256": hashlib.sha256(url.encode()).hexdigest(),
                "display_url": url.replace("http", "hxxp", 1).replace(".", "[.]"),
                "host": host,
                "registrable_domain": f"provider{n}.example",
                "status": CaseStatus.TRACED,
                "is_open": True,
                "escalation_level": 0,
                "needs_analyst": False,
                "category": "A",
                "content_sha256": hashlib.sha256(str(n).encode()).hexdigest(),
                "hosting_country": country,
                "hosting_network": f"Provider {n} Networks",
                "trace_attempts": 1,
                "notice_round": 0,
                "consecutive_removed": 0,
                "confirmed_at": confirmed,
                "opened_at": confirmed,
                "traced_at": confirmed,
                "updated_at": confirmed,
            }
        )
        reports.append(
            {
                "source": "bz",
                "report_id": f"bz-{n}",
                "case_id": n,
                "url": url,
                "confirmed_at": confirmed,
                "category": "A",
                "had_userinfo": False,
                "received_at": confirmed,
            }
        )
        contacts = [{"email": f"abuse@provider{n}.example", "source": "rdap", "confidence": 0.9}]
        network = {"asn": 64500 + n % 1000, "prefix": "192.0.2.0/24", "country": country}
        network |= {"name": f"Provider {n} Networks", "organisation": None}
        network |= {"abuse_contacts": contacts, "source": "rdap"}
        resolutions.append(
            {
                "case_id": n,
                "resolved_at": confirmed,
                "ok": True,
                "result": {"url": url, "network": network, "hosting_country": country},
                "flow_run_id": None,
            }
        )
    with unit_of_work(engine) as session:
        insert_rows(session, _table(Case), cases)
        insert_rows(session, _table(Report), reports)
        insert_rows(session, _table(Resolution), resolutions)


def measure(url: str, count: int) -> None:
    """Seed, notify and deliver on the database at ``url``; print the figures."""
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        seed(engine, count)
        directory = load_directory(EXAMPLE)
        composer = TimedComposer(directory)
        ids = list(range(1, count + 1))
        started, cpu_started = time.perf_counter(), time.process_time()
        for start in range(0, count, NOTIFY_BATCH):
            with unit_of_work(engine) as session:
                notify_cases(
                    session,
                    ids[start : start + NOTIFY_BATCH],
                    directory=directory,
                    composer=composer,
                    actor="bench",
                    now=NOW,
                )
        notify_seconds = time.perf_counter() - started
        notify_cpu = time.process_time() - cpu_started
        with unit_of_work(engine) as session:
            stored = session.scalar(select(func.count()).select_from(Notice)) or 0
        print(
            f"  rendering: {stored:>6} notices composed in {composer.seconds:.2f} s "
            f"= {stored / composer.seconds:,.0f} notices/s (target 2,000; wall clock, shared CPU)"
        )
        print(
            f"  notify:    {stored:>6} notices planned, rendered and stored in "
            f"{notify_seconds:.2f} s = {stored / notify_seconds:,.0f} notices/s "
            f"({stored / notify_cpu:,.0f}/s of this process's CPU time)"
        )
        port = free_port()
        relay = start_relay(port)
        try:
            settings = SmtpSettings(host="127.0.0.1", port=port)
            started, cpu_started = time.perf_counter(), time.process_time()
            sent = 0
            with SmtpTransport(settings, timeouts=SmtpTimeouts(connect=10, command=30)) as smtp:
                while True:
                    batch = deliver_batch(
                        engine, smtp, worker="bench", size=DELIVER_BATCH, clock=lambda: NOW
                    )
                    sent += batch.sent
                    if not batch.claimed:
                        break
            deliver_seconds = time.perf_counter() - started
            deliver_cpu = time.process_time() - cpu_started
        finally:
            relay.terminate()
            relay.wait(timeout=10)
        with unit_of_work(engine) as session:
            done = session.scalar(select(func.count()).where(Notice.status == NoticeStatus.SENT))
        print(
            f"  delivery:  {sent:>6} claimed, sent and recorded in {deliver_seconds:.2f} s "
            f"= {sent / deliver_seconds:,.0f} messages/s (target 200); {done} marked sent; "
            f"the sender used {1000 * deliver_cpu / max(sent, 1):.2f} ms CPU a message"
        )
        if done != stored or stored != count:
            raise SystemExit("some notices were not stored or not delivered")
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--notices", type=int, default=10_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    print(f"outbox benchmark: {args.notices:,} notices")
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            print("sqlite")
            measure(f"sqlite:///{Path(folder) / 'bench.db'}", args.notices)
    if args.backend in ("postgresql", "both"):
        with TemporaryPostgres() as server:
            print("postgresql")
            measure(server.url, args.notices)


if __name__ == "__main__":
    main()
