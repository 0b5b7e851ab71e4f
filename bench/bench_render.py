"""Notice throughput: render 10,000 notices (with X-ARF) and deliver them over one SMTP connection.

    python bench/bench_render.py [--notices 10000] [--seed 7]

Targets: rendering at least 2,000 notices/s, delivery at least 200 messages/s. The relay is
aiosmtpd's discarding ``Sink`` handler in a separate process on 127.0.0.1, so relay and sender do
not share an interpreter. Every wait is bounded; the relay is stopped at the end.
"""

from __future__ import annotations

import argparse
import gc
import random
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from notices.directory import Directory, load_directory
from notices.facts import AbuseContact, CaseFacts, CaseUrl, Network
from notices.kinds import Circumstance
from notices.mail.message import NoticeComposer, RenderedNotice
from notices.routing import PlannedNotice, plan_notices
from notices.transport.outcome import DeliveryOutcome, OutgoingMail
from notices.transport.smtp import SmtpSettings, SmtpTimeouts, SmtpTransport
from notices.xarf import validate_report

EXAMPLE = Path(__file__).resolve().parent.parent / "notices" / "data" / "directory.example.yaml"
RELAY_START_LIMIT = 20.0  # seconds to wait for the relay to accept connections
COUNTRIES = ("US", "DE", "FR", "MX", "BR", "IN")  # routed to a host notice by the example rules
LANGUAGES_BY_DOMAIN = ("hostingbz.example", "host.example")  # es (recipient_languages) / en


def make_cases(count: int, seed: int) -> list[CaseFacts]:
    """Cases with one URL (four in five) or two, hosted where the host is told directly."""
    rng = random.Random(seed)
    confirmed = datetime(2026, 3, 2, 14, 5, tzinfo=UTC)
    cases = []
    for n in range(1, count + 1):
        urls = tuple(
            CaseUrl(
                url=f"http://files{n % 97}.provider{n % 13}.example/{n}/item{k}.jpg"
                f"?id={rng.getrandbits(32):x}",
                display=f"hxxp://files{n % 97}[.]provider{n % 13}[.]example/{n}/item{k}.jpg",
                confirmed_at=confirmed + timedelta(seconds=n),
                content_sha256=f"{rng.getrandbits(256):064x}" if k == 1 else None,
                report_ids=(f"bz-{n}-{k}",),
                source="bz",
            )
            for k in range(1, 2 + (n % 5 == 0))
        )
        domain = LANGUAGES_BY_DOMAIN[n % 2]
        cases.append(
            CaseFacts(
                case_id=n,
                reference=f"TD-{n:06d}",
                category="csam",
                hosting_country=COUNTRIES[n % len(COUNTRIES)],
                urls=urls,
                registered_domain=f"provider{n % 13}.example",
                network=Network(name=f"Provider {n % 13} Networks", asn=64500 + n % 13),
                host_contacts=(AbuseContact(address=f"abuse@{domain}", name=f"Provider {n % 13}"),),
            )
        )
    return cases


def host_notices(cases: list[CaseFacts], directory: Directory) -> list[PlannedNotice]:
    notices: list[PlannedNotice] = []
    for case in cases:
        plan = plan_notices(case, directory, Circumstance.FIRST_ROUND)
        notices.extend(n for n in plan.notices if n.role == "host")
    return notices


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_relay(port: int) -> subprocess.Popen[bytes]:
    relay = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-c",
            "aiosmtpd.handlers.Sink",
            "-l",
            f"127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + RELAY_START_LIMIT
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return relay
        except OSError:
            time.sleep(0.05)
    relay.kill()
    relay.wait(timeout=10)
    raise SystemExit(f"the relay did not start within {RELAY_START_LIMIT} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notices", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    directory = load_directory(EXAMPLE)
    cases = make_cases(args.notices, args.seed)
    started = time.perf_counter()
    planned = host_notices(cases, directory)[: args.notices]
    routing_seconds = time.perf_counter() - started

    # The 10,000 cases and plans stay in memory for the whole run; a worker holds one batch.
    # Move them out of the cyclic garbage collector's sight so its full passes do not charge
    # the rendering loop for traversing input data that can never be garbage.
    gc.collect()
    gc.freeze()
    composer = NoticeComposer(directory)  # templates compiled once, reused for every notice
    now = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    composer.compose(planned[0], 1, now)  # warm the template cache outside the measurement
    started, cpu_started = time.perf_counter(), time.process_time()
    rendered: list[RenderedNotice] = [
        composer.compose(notice, number, now) for number, notice in enumerate(planned, start=1)
    ]
    render_seconds = time.perf_counter() - started
    render_cpu = time.process_time() - cpu_started
    reports = sum(len(r.xarf) for r in rendered)
    spanish = sum(r.language == "es" for r in rendered)

    sample = [x for r in rendered[:50] for x in r.xarf]
    started = time.perf_counter()
    invalid = sum(bool(validate_report(x.data)) for x in sample)
    validate_rate = len(sample) / (time.perf_counter() - started)

    mails = [OutgoingMail.from_notice(r) for r in rendered]
    port = free_port()
    relay = start_relay(port)
    try:
        settings = SmtpSettings.from_url(f"smtp://127.0.0.1:{port}")
        with SmtpTransport(settings, timeouts=SmtpTimeouts(connect=10, command=30)) as transport:
            started = time.perf_counter()
            results = transport.send_batch(mails)
            deliver_seconds = time.perf_counter() - started
    finally:
        relay.terminate()
        try:
            relay.wait(timeout=10)
        except subprocess.TimeoutExpired:
            relay.kill()
            relay.wait(timeout=10)
    sent = sum(r.outcome is DeliveryOutcome.SENT for r in results)
    megabytes = sum(len(m.raw) for m in mails) / 1e6

    print(f"routing:   {len(planned):>6} notices planned in {routing_seconds:.2f} s")
    print(
        f"rendering: {len(rendered):>6} notices ({reports} X-ARF reports, {spanish} in Spanish) "
        f"in {render_seconds:.2f} s = {len(rendered) / render_seconds:,.0f} notices/s "
        f"(target 2,000; {len(rendered) / render_cpu:,.0f}/s of this process's CPU time)"
    )
    print(
        f"delivery:  {sent:>6} of {len(mails)} sent ({megabytes:.1f} MB) over one connection "
        f"in {deliver_seconds:.2f} s = {sent / deliver_seconds:,.0f} messages/s (target 200)"
    )
    print(
        f"x-arf full schema validation (off in the render path): {validate_rate:,.0f} reports/s, "
        f"{invalid} invalid of {len(sample)} checked"
    )
    if sent != len(mails) or invalid:
        raise SystemExit("some notices were not delivered or not valid")


if __name__ == "__main__":
    main()
