"""``takedown demo``: the whole life of the example world's cases in about a minute.

It starts the sandbox (in this process, on free loopback ports), points the engine at it, runs
the main job on the world's confirmed reports with a fresh SQLite database, then runs tracking
cycles until every case has ended where the world takes it: removal verified, held for the
police, untraceable, or flagged for an analyst after the ladder, with nothing left under way
in the world or the outbox. A hard time limit stops it whatever happens.

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
from typing import TYPE_CHECKING, Annotated, Any

import typer
import yaml
from sqlalchemy import Engine, select

from registry import migrate
from registry.db import make_engine
from registry.escalation.ladder import LADDER_STATUSES, LEVEL_ANALYST
from registry.models import Case, Notice
from registry.status import CaseStatus, NoticeStatus
from settings import get_settings
from takedown.app import app
from takedown.clikit import JsonOption, errors, print_json

if TYPE_CHECKING:  # the sandbox loads only when the demo runs
    from sandbox.testing import SandboxHandle

SETTLED = frozenset(
    {CaseStatus.REMOVED, CaseStatus.CLOSED, CaseStatus.WITHDRAWN, CaseStatus.TRACE_FAILED}
)
"""Statuses a case may end the demo in without anything further to wait for."""


@dataclass(frozen=True, slots=True)
class DemoTimings:
    """The engine's timings for a world whose behaviours take seconds."""

    # A cycle takes a few seconds (each of its steps is a Prefect flow run), so the ladder
    # leaves a prompt host several cycles to be seen removed before anyone is escalated.
    reminder_every: str = "15s"
    escalate_after: str = "30s"
    analyst_after: str = "75s"
    recheck_interval_seconds: float = 3.0
    removal_spacing_seconds: float = 2.0
    # Two removed checks, so a removal is verified before the re-uploader's content is back.
    removal_confirmations: int = 2
    removed_recheck_seconds: float = 3.0
    cycle_pause_seconds: float = 0.5
    time_limit_seconds: float = 170.0
    """The whole demo, sandbox start and Prefect's server included."""


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
        Path(sandbox_env["TAKEDOWN_DIRECTORY"]), workdir / "directory.yaml", timings
    )
    values |= {
        "TAKEDOWN_DATABASE_URL": f"sqlite:///{workdir / 'takedown-demo.db'}",
        "TAKEDOWN_DIRECTORY": str(directory),
        "TAKEDOWN_OUTBOX_DIR": str(workdir / "outbox"),
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


def progress_line(cycle: int, elapsed: float, view: dict[str, Any]) -> str:
    """One line of the live view."""
    states = ", ".join(f"{s} {n}" for s, n in view["cases_by_state"].items())
    return (
        f"cycle {cycle:>3}  {elapsed:5.0f}s  cases: {states}  |  notices sent "
        f"{view['notices_sent']}  |  removals verified {view['removals_verified']}"
    )


def run_demo_in(
    handle: SandboxHandle,
    workdir: Path,
    *,
    timings: DemoTimings = DemoTimings(),
    progress: Callable[[str], None] = lambda line: None,
    started: float | None = None,
) -> dict[str, Any]:
    """Run the demo against a running sandbox; return the final summary (``settled`` says
    whether every case ended where the world takes it within the time limit)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from flows.cycle import tracking_cycle_flow  # Prefect loads only when the demo runs
    from flows.run import takedown_flow

    start = time.monotonic() if started is None else started
    deadline = start + timings.time_limit_seconds
    values = demo_environment(handle.env, workdir, timings)
    # Flows run in this process: no worker watches for crashed runs, so no heartbeats (each
    # run's heartbeat thread would cost up to a second as it ends).
    no_heartbeats = temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})
    with engine_environment(values), no_heartbeats:
        url = values["TAKEDOWN_DATABASE_URL"]
        migrate.upgrade(url)
        engine = make_engine(url)
        try:
            takedown_flow(handle.env["TAKEDOWN_SANDBOX_REPORTS"], database_url=url)
            view = snapshot(engine)
            progress(progress_line(0, time.monotonic() - start, view))
            cycle, settled = 0, False
            while time.monotonic() < deadline:
                cycle += 1
                tracking_cycle_flow(
                    removed_recheck_seconds=timings.removed_recheck_seconds, database_url=url
                )
                view = snapshot(engine)
                progress(progress_line(cycle, time.monotonic() - start, view))
                settled = (
                    view["notices_waiting"] == 0
                    and all(case_settled(c) for c in view["cases"])
                    and world_idle(handle)
                )
                if settled:
                    break
                time.sleep(min(timings.cycle_pause_seconds, max(0.0, deadline - time.monotonic())))
        finally:
            engine.dispose()
    mailboxes = handle.call(_mailboxes)
    return view | {
        "settled": settled,
        "cycles": cycle,
        "elapsed_seconds": round(time.monotonic() - start, 1),
        "world": handle.world.name,
        "mailboxes": {b["address"]: b["messages"] for b in mailboxes if b["messages"]},
    }


def run_demo(
    world: Path | None,
    workdir: Path,
    *,
    timings: DemoTimings = DemoTimings(),
    progress: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    """Start the sandbox with ``world`` (the example world by default) and run the demo."""
    from sandbox.testing import running_sandbox

    started = time.monotonic()
    with running_sandbox(world, workdir=workdir / "sandbox") as handle:
        return run_demo_in(handle, workdir, timings=timings, progress=progress, started=started)


def _print_summary(summary: dict[str, Any]) -> None:
    typer.echo("")
    typer.echo(f"Cases ({summary['world']} world, {summary['elapsed_seconds']} s):")
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


@app.command()
def demo(
    as_json: JsonOption = False,
    world: Annotated[
        Path | None, typer.Option("--world", help="A world file (default: the example world).")
    ] = None,
    workdir: Annotated[
        Path | None,
        typer.Option(
            help="Keep the database, directory and sandbox files here (default: a "
            "temporary folder removed at the end)."
        ),
    ] = None,
) -> None:
    """Run the engine against the sandbox internet until every case has ended where its world
    takes it; print one line per tracking cycle, then a summary."""
    with errors():
        # The live view is the output; Prefect reads this as it is first imported, just below.
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        echo: Callable[[str], None] = (lambda line: None) if as_json else typer.echo
        with tempfile.TemporaryDirectory(prefix="takedown-demo-") as scratch:
            folder = (workdir or Path(scratch)).resolve()
            folder.mkdir(parents=True, exist_ok=True)
            # Prefect's temporary server gets a database of its own: a shared one is a
            # single-writer SQLite file other Prefect processes on the machine may hold.
            os.environ.setdefault("PREFECT_HOME", str(folder / "prefect"))
            summary = run_demo(world, folder, progress=echo)
    if as_json:
        print_json(summary)
    else:
        _print_summary(summary)
    if not summary["settled"]:
        typer.echo("error: the world did not settle within the time limit", err=True)
        raise typer.Exit(1)
