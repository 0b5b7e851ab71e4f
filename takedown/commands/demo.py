"""``takedown demo``: the whole life of the example world's cases in about a minute.

It starts the sandbox (in this process, on free loopback ports), points the engine at it, runs
the main job on the world's confirmed reports with a fresh SQLite database, then runs tracking
cycles until every case has ended where the world takes it: removal verified, held for the
police, untraceable, or flagged for an analyst after the ladder, with nothing left under way
in the world or the outbox. Then it checks every case against what the world's behaviours say
it should have ended as, and names those that did not.

One clock: the world's behaviours (a removal 5 s after the notice, a re-upload 20 s later)
and the engine's ladder and rechecks all read the sandbox's clock, which stands still while a
cycle runs and moves a fixed step before the next. However long a cycle takes in real time
(Prefect's server stalls now and then), the run is the same.

The world's timings are seconds, so the demo shortens the engine's too: rechecks every few
seconds, removal verified after two removed checks two seconds apart, a verified removal
looked at again every few seconds (the re-uploader comes back after 20 s), and its own copy of
the partner directory with a ladder of seconds (:class:`DemoTimings`).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import typer
import yaml
from sqlalchemy import Engine, select

from registry import migrate
from registry.db import make_engine
from registry.escalation.ladder import LADDER_STATUSES, LEVEL_ANALYST
from registry.models import Case, Notice
from registry.status import CaseStatus, NoticeStatus
from settings import get_settings
from settings.clock import clock_set_to
from takedown.app import app
from takedown.clikit import JsonOption, errors, print_json
from takedown.demo.end import end_differences, expected_ends
from takedown.demo.logs import keep_prefect_logs_in, temporary_prefect_server
from takedown.demo.results import (
    DATABASE_NAME,
    DIRECTORY_NAME,
    MAIL_NAME,
    OUTBOX_NAME,
    write_results_env,
)

if TYPE_CHECKING:  # the sandbox loads only when the demo runs
    from sandbox.testing import SandboxHandle

SETTLED = frozenset(
    {CaseStatus.REMOVED, CaseStatus.CLOSED, CaseStatus.WITHDRAWN, CaseStatus.TRACE_FAILED}
)
"""Statuses a case may end the demo in without anything further to wait for."""


@dataclass(frozen=True, slots=True)
class DemoTimings:
    """The engine's timings for a world whose behaviours take seconds."""

    # On the demo's clock a cycle is `cycle_seconds`: the ladder leaves a prompt host several
    # cycles to be seen removed before anyone is reminded or escalated.
    reminder_every: str = "15s"
    escalate_after: str = "30s"
    analyst_after: str = "75s"
    recheck_interval_seconds: float = 3.0
    removal_spacing_seconds: float = 2.0
    # Two removed checks, so a removal is verified before the re-uploader's content is back.
    removal_confirmations: int = 2
    removed_recheck_seconds: float = 3.0
    cycle_seconds: int = 3
    """How far the clock moves before each tracking cycle (whole seconds, so that due times
    fall exactly on a cycle). The ladder above is 5, 10 and 25 cycles."""
    cycle_limit: int = 50
    """Cycles after which the demo gives up; the example world settles in under 20."""
    wall_limit_seconds: float = 600.0
    """A hard stop in real time, whatever happens."""


@dataclass(frozen=True, slots=True)
class Stall:
    """A test hook: after tracking cycle ``cycle``, the demo waits ``seconds`` of real time, as
    when Prefect's server stalls. On one clock, this must change nothing."""

    cycle: int
    seconds: float


class DemoClock(Protocol):
    """The sandbox's clock as the demo drives it (``sandbox.testing.ManualClock``)."""

    def __call__(self) -> float: ...

    def advance(self, seconds: float) -> None: ...


@contextmanager
def engine_environment(values: dict[str, str]) -> Iterator[None]:
    """Point the engine's settings at ``values`` for the block, then restore the environment."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


def write_demo_directory(source: Path, target: Path, timings: DemoTimings) -> Path:
    """Copy the sandbox's partner directory with the demo's ladder timings."""
    document = yaml.safe_load(source.read_text(encoding="utf-8"))
    document["escalation"] = {
        "reminder_every": timings.reminder_every,
        "escalate_after": timings.escalate_after,
        "analyst_after": timings.analyst_after,
    }
    target.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return target


def demo_environment(
    sandbox_env: dict[str, str], workdir: Path, timings: DemoTimings
) -> dict[str, str]:
    """The ``TAKEDOWN_*`` settings of the demo: the sandbox's, a fresh database, the timings."""
    values = {k: v for k, v in sandbox_env.items() if not k.startswith("TAKEDOWN_SANDBOX_")}
    directory = write_demo_directory(
        Path(sandbox_env["TAKEDOWN_DIRECTORY"]), workdir / DIRECTORY_NAME, timings
    )
    values |= {
        "TAKEDOWN_DATABASE_URL": f"sqlite:///{workdir / DATABASE_NAME}",
        "TAKEDOWN_DIRECTORY": str(directory),
        "TAKEDOWN_OUTBOX_DIR": str(workdir / OUTBOX_NAME),
        "TAKEDOWN_RECHECK_INTERVAL_SECONDS": str(timings.recheck_interval_seconds),
        "TAKEDOWN_REMOVAL_SPACING_SECONDS": str(timings.removal_spacing_seconds),
        "TAKEDOWN_REMOVAL_CONFIRMATIONS": str(timings.removal_confirmations),
    }
    return values


def snapshot(engine: Engine) -> dict[str, Any]:
    """Where the cases and the outbox stand: the live view's line and the final summary."""
    with engine.connect() as connection:
        cases = connection.execute(
            select(
                Case.id,
                Case.display_url,
                Case.status,
                Case.escalation_level,
                Case.needs_analyst,
                Case.notice_round,
                Case.hosting_country,
                Case.first_notice_at,
                Case.removal_verified_at,
            ).order_by(Case.id)
        ).all()
        notices = connection.execute(select(Notice.kind, Notice.status)).all()
    removal_times = [
        (c.removal_verified_at - c.first_notice_at).total_seconds()
        for c in cases
        if c.removal_verified_at is not None and c.first_notice_at is not None
    ]
    return {
        "cases_by_state": dict(sorted(Counter(str(c.status) for c in cases).items())),
        "notices_by_kind": dict(
            sorted(Counter(k for k, s in notices if s is NoticeStatus.SENT).items())
        ),
        "notices_sent": sum(1 for _, s in notices if s is NoticeStatus.SENT),
        "notices_waiting": sum(
            1 for _, s in notices if s in (NoticeStatus.PENDING, NoticeStatus.SENDING)
        ),
        "removals_verified": sum(1 for c in cases if c.removal_verified_at is not None),
        "median_time_to_removal_seconds": (
            round(statistics.median(removal_times), 1) if removal_times else None
        ),
        "escalated": sum(1 for c in cases if c.escalation_level > 0),
        "needs_analyst": sum(1 for c in cases if c.needs_analyst),
        "cases": [
            {
                "id": c.id,
                "url": c.display_url,
                "status": str(c.status),
                "escalation_level": c.escalation_level,
                "needs_analyst": c.needs_analyst,
                "notice_round": c.notice_round,
                "hosting_country": c.hosting_country,
            }
            for c in cases
        ],
    }


def case_settled(case: dict[str, Any]) -> bool:
    """Whether a case has ended where the demo can leave it."""
    status = CaseStatus(case["status"])
    if status in SETTLED or status is CaseStatus.HELD:
        return True  # held: this world's police never clear a case
    return status in LADDER_STATUSES and case["escalation_level"] >= LEVEL_ANALYST


def world_idle(handle: SandboxHandle) -> bool:
    """Whether no party of the world has a change under way (a removal, re-upload, move,
    suspension or forwarded notice still to come)."""

    def idle(sandbox: Any) -> bool:
        state, world = sandbox.state, sandbox.world
        state.advance()
        parties = [n.id for n in world.networks] + [r.id for r in world.registrars]
        parties += [f"partner:{p.code}" for p in world.partners]
        subjects = [u.key for u in world.urls] + [d.name for d in world.domains]
        return not any(state.is_pending(by, s) for by in parties for s in subjects)

    return bool(handle.call(idle))


def _mailboxes(sandbox: Any) -> list[dict[str, Any]]:
    """What each mailbox of the world received (the sandbox's inspection view)."""
    boxes: list[dict[str, Any]] = sandbox.inspection.service.mailboxes()
    return boxes


def progress_line(cycle: int, demo_seconds: float, elapsed: float, view: dict[str, Any]) -> str:
    """One line of the live view: the cycle, the clock since the start, the real time taken."""
    states = ", ".join(f"{s} {n}" for s, n in view["cases_by_state"].items())
    return (
        f"cycle {cycle:>3}  t+{demo_seconds:<4.0f} ({elapsed:3.0f}s)  cases: {states}  |  "
        f"notices sent {view['notices_sent']}  |  removals verified {view['removals_verified']}"
    )


def run_demo_in(
    handle: SandboxHandle,
    workdir: Path,
    clock: DemoClock,
    *,
    timings: DemoTimings = DemoTimings(),
    stall: Stall | None = None,
    progress: Callable[[str], None] = lambda line: None,
    started: float | None = None,
) -> dict[str, Any]:
    """Run the demo against a running sandbox whose clock is ``clock``; return the final
    summary. ``settled`` says whether the world came to rest within the cycle limit,
    ``differences`` which cases ended otherwise than the world says they should."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from flows.cycle import tracking_cycle_flow  # Prefect loads only when the demo runs
    from flows.run import takedown_flow

    start = time.monotonic() if started is None else started
    deadline = start + timings.wall_limit_seconds
    origin = clock()
    values = demo_environment(handle.env, workdir, timings)
    write_results_env(workdir)
    expected = expected_ends(handle)
    # Flows run in this process: no worker watches for crashed runs, so no heartbeats (each
    # run's heartbeat thread would cost up to a second as it ends).
    no_heartbeats = temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})
    with engine_environment(values), no_heartbeats, clock_set_to(clock):
        url = values["TAKEDOWN_DATABASE_URL"]
        migrate.upgrade(url)
        engine = make_engine(url)
        try:
            takedown_flow(handle.env["TAKEDOWN_SANDBOX_REPORTS"], database_url=url)
            view = snapshot(engine)
            progress(progress_line(0, 0, time.monotonic() - start, view))
            cycle, settled = 0, False
            while cycle < timings.cycle_limit and time.monotonic() < deadline:
                cycle += 1
                clock.advance(timings.cycle_seconds)
                tracking_cycle_flow(
                    removed_recheck_seconds=timings.removed_recheck_seconds, database_url=url
                )
                if stall is not None and stall.cycle == cycle:
                    time.sleep(stall.seconds)
                view = snapshot(engine)
                progress(progress_line(cycle, clock() - origin, time.monotonic() - start, view))
                settled = (
                    view["notices_waiting"] == 0
                    and all(case_settled(c) for c in view["cases"])
                    and world_idle(handle)
                )
                if settled:
                    break
            differences = end_differences(engine, expected)
        finally:
            engine.dispose()
    mailboxes = handle.call(_mailboxes)
    return view | {
        "settled": settled,
        "differences": [d.to_json() for d in differences],
        "cycles": cycle,
        "demo_seconds": round(clock() - origin, 1),
        "elapsed_seconds": round(time.monotonic() - start, 1),
        "world": handle.world.name,
        "mailboxes": {b["address"]: b["messages"] for b in mailboxes if b["messages"]},
    }


def run_demo(
    world: Path | None,
    workdir: Path,
    *,
    timings: DemoTimings = DemoTimings(),
    stall: Stall | None = None,
    progress: Callable[[str], None] = lambda line: None,
    started: float | None = None,
) -> dict[str, Any]:
    """Start the sandbox with ``world`` (the example world by default) on a clock of its own
    that starts now, and run the demo; the mail the world receives is kept in ``workdir``.
    ``started`` is when the demo started in real time (``time.monotonic``), if before this."""
    from sandbox.testing import ManualClock, running_sandbox

    started = time.monotonic() if started is None else started
    clock = ManualClock(start=float(int(time.time())))  # whole seconds, as the steps are
    with running_sandbox(
        world, workdir=workdir / "sandbox", clock=clock, mail_dir=workdir / MAIL_NAME
    ) as handle:
        return run_demo_in(
            handle,
            workdir,
            clock,
            timings=timings,
            stall=stall,
            progress=progress,
            started=started,
        )


def _print_summary(summary: dict[str, Any]) -> None:
    typer.echo("")
    typer.echo(
        f"Cases ({summary['world']} world, t+{summary['demo_seconds']:.0f} s in "
        f"{summary['cycles']} cycles, {summary['elapsed_seconds']} s real time):"
    )
    for case in summary["cases"]:
        extra = f", escalation level {case['escalation_level']}" if case["escalation_level"] else ""
        extra += f", round {case['notice_round']}" if case["notice_round"] else ""
        extra += ", needs an analyst" if case["needs_analyst"] else ""
        typer.echo(f"  TD-{case['id']:06d}  {case['status']:<12} {case['url']}{extra}")
    kinds = ", ".join(f"{k} {n}" for k, n in summary["notices_by_kind"].items()) or "none"
    typer.echo(f"Notices sent: {summary['notices_sent']} ({kinds})")
    median = summary["median_time_to_removal_seconds"]
    typer.echo(
        f"Removals verified: {summary['removals_verified']}"
        + (f" (median {median} s after the first notice)" if median is not None else "")
    )
    typer.echo(
        f"Escalated: {summary['escalated']}; flagged for an analyst: {summary['needs_analyst']}"
    )


def failures(summary: dict[str, Any]) -> list[str]:
    """Why the demo did not end as its world says it should, one line each; none when it did."""
    lines = []
    if not summary["settled"]:
        lines.append(f"the world did not settle within {summary['cycles']} cycles")
    differences = summary["differences"]
    if differences:
        lines.append(f"{len(differences)} cases did not end as the world expects:")
        lines += [
            f"  {d['case']}  {d['url']}: expected {d['expected']}; ended {d['actual']}"
            for d in differences
        ]
    return lines


@app.command()
def demo(
    as_json: JsonOption = False,
    world: Annotated[
        Path | None, typer.Option("--world", help="A world file (default: the example world).")
    ] = None,
    workdir: Annotated[
        Path | None,
        typer.Option(
            help="Keep the database, directory, mail, logs and sandbox files here (default: "
            "a temporary folder removed at the end)."
        ),
    ] = None,
    stall_seconds: Annotated[
        float,
        typer.Option(hidden=True, min=0, help="Test hook: wait this long after one cycle."),
    ] = 0.0,
    stall_cycle: Annotated[
        int, typer.Option(hidden=True, min=1, help="Test hook: the cycle that stalls.")
    ] = 2,
) -> None:
    """Run the engine against the sandbox internet until every case has ended where its world
    takes it; print one line per tracking cycle, then a summary. Exit 1, naming the cases,
    when the end differs from what the world's behaviours make of them."""
    started = time.monotonic()
    with errors():
        echo: Callable[[str], None] = (lambda line: None) if as_json else typer.echo
        stall = Stall(stall_cycle, stall_seconds) if stall_seconds > 0 else None
        with tempfile.TemporaryDirectory(prefix="takedown-demo-") as scratch:
            folder = (workdir or Path(scratch)).resolve()
            folder.mkdir(parents=True, exist_ok=True)
            # Prefect's temporary server gets a database of its own: a shared one is a
            # single-writer SQLite file other Prefect processes on the machine may hold.
            os.environ.setdefault("PREFECT_HOME", str(folder / "prefect"))
            os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
            # The live view is the output: Prefect's logs go to a file, read as Prefect is
            # first imported (just below).
            log_file = keep_prefect_logs_in(folder)
            echo(f"Starting Prefect and the sandbox (Prefect's logs: {log_file}) ...")
            with temporary_prefect_server(log_file):
                summary = run_demo(world, folder, stall=stall, progress=echo, started=started)
    if as_json:
        print_json(summary)
    else:
        _print_summary(summary)
    problems = failures(summary)
    for line in problems:
        typer.echo(f"error: {line}" if not line.startswith(" ") else line, err=True)
    if problems:
        raise typer.Exit(1)
