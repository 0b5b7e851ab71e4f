"""``takedown notify``, ``outbox``, ``deliver``, ``run FILE`` and ``case clear ID``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from registry.base import utcnow
from registry.db import unit_of_work
from registry.delivery.outbox import outbox_report
from registry.notifying.service import clear_case
from takedown.app import app
from takedown.clikit import JsonOption, current_user, engine, errors, print_json
from takedown.clikit import settings as get_settings
from takedown.commands.cases import case_app
from takedown.progress import progress_bar

LimitOption = Annotated[int | None, typer.Option(min=1, help="At most this many.")]


def _kinds(counts: dict[str, int]) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in counts.items()) or "none"


def _print_notify(total: dict[str, Any]) -> None:
    typer.echo(
        f"{total['cases']} cases: {total['notified']} notified, {total['held']} held for the "
        f"police, {total['needs_analyst']} need an analyst"
    )
    typer.echo(
        f"{total['notices']} notices queued ({total['notices_held']} held): "
        f"{_kinds(total['by_kind'])}"
    )


def _print_deliver(total: dict[str, Any]) -> None:
    typer.echo(
        f"{total['sent']} sent, {total['retrying']} waiting to retry, {total['failed']} failed"
        f" ({total['claimed']} claimed)"
    )
    if total["unknown"]:
        typer.echo(
            f"{total['unknown']} notices marked 'delivery outcome unknown' (a worker stopped "
            "mid-transaction): their cases are flagged for an analyst"
        )


@app.command()
def notify(limit: LimitOption = None, as_json: JsonOption = False) -> None:
    """Plan, render and queue the notices of every case waiting for them."""
    with errors():
        from flows.notify import directory_path, notify_flow  # Prefect loads only when needed

        directory_path()  # no directory: one line, before Prefect starts
        with progress_bar(as_json):
            total = notify_flow(limit=limit)
    if as_json:
        print_json(total)
    else:
        _print_notify(total)


@app.command()
def deliver(limit: LimitOption = None, as_json: JsonOption = False) -> None:
    """Deliver the due notices of the outbox (SMTP, or .eml files without a relay)."""
    with errors():
        from flows.deliver import deliver_flow

        get_settings()
        with progress_bar(as_json):
            total = deliver_flow(limit=limit)
    if as_json:
        print_json(total)
    else:
        _print_deliver(total)


@app.command()
def outbox(
    limit: Annotated[int, typer.Option(min=1, help="List at most this many notices.")] = 1000,
    as_json: JsonOption = False,
) -> None:
    """Notices by status, and the pending and failed ones."""
    with errors(), unit_of_work(engine()) as session:
        report = outbox_report(session, limit=limit)
    if as_json:
        print_json(report)
        return
    typer.echo("  ".join(f"{status} {n}" for status, n in report["counts"].items()))
    for notice in report["notices"]:
        when = notice["send_after"] or "now"
        line = f"{notice['id']:>7}  {notice['status']:<8} {notice['kind']:<21} {notice['to']}"
        line += f"  attempts {notice['attempts']}, due {when}"
        if notice["last_error"]:
            line += f"  ({notice['last_error']})"
        typer.echo(line)


@app.command()
def run(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="Confirmed reports (CSV/JSON).")],
    as_json: JsonOption = False,
) -> None:
    """The main job: take in reports, trace, notify and deliver, in one flow."""
    with errors():
        from flows.notify import directory_path
        from flows.run import takedown_flow

        directory_path()
        if not path.is_file():
            raise FileNotFoundError(2, "no such file", str(path))
        with progress_bar(as_json):
            result = takedown_flow(str(path.resolve()))
    if as_json:
        result["intake"].pop("case_ids", None)
        print_json(result)
        return
    intake, traced = result["intake"], result["trace"]
    typer.echo(
        f"intake: {intake['received']} reports, {intake['cases_opened']} cases opened, "
        f"{len(intake['rejected'])} rejected"
    )
    for rejected in intake["rejected"]:
        typer.echo(f"  line {rejected['line']}: {rejected['error']}")
    typer.echo(f"trace: {traced['traced']} traced, {traced['failed']} failed")
    typer.echo("notify: ", nl=False)
    _print_notify(result["notify"])
    typer.echo("deliver: ", nl=False)
    _print_deliver(result["deliver"])


@case_app.command("clear")
def case_clear(
    case_id: Annotated[int, typer.Argument(metavar="ID", help="The case's number.")],
    by: Annotated[
        str | None, typer.Option("--by", help="Who cleared it (default: the current user).")
    ] = None,
) -> None:
    """Record that the police partner cleared a held case; the next notify tells the host."""
    with errors(), unit_of_work(engine()) as session:
        case = clear_case(session, case_id, by=by or current_user(), now=utcnow())
        reference = case.reference
    typer.echo(f"{reference} cleared; `takedown notify` queues the notices to the host")
