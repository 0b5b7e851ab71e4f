"""``takedown escalate``: take the reminder, escalation and analyst steps that are due."""

from __future__ import annotations

import typer

from takedown.app import app
from takedown.clikit import JsonOption, errors, print_json


@app.command()
def escalate(as_json: JsonOption = False) -> None:
    """Queue the due reminders and escalations (registrar, police) and flag the cases an
    analyst should look at; the notices leave with the next ``takedown deliver``."""
    with errors():
        from flows.escalate import escalate_flow  # Prefect loads only when needed
        from flows.notify import directory_path

        directory_path()  # no directory: one line, before Prefect starts
        total = escalate_flow()
    if as_json:
        print_json(total)
        return
    kinds = ", ".join(f"{kind} {n}" for kind, n in total["by_kind"].items()) or "none"
    typer.echo(
        f"{total['cases']} cases: {total['reminders']} reminders, {total['escalations']} "
        f"escalations, {total['analyst']} flagged for an analyst"
    )
    typer.echo(f"{total['notices']} notices queued: {kinds}")
