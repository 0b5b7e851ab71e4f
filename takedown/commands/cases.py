"""``takedown cases``, ``takedown case show ID`` and ``takedown case handled ID``."""

from __future__ import annotations

from typing import Annotated

import typer

from registry.attention import handle_case
from registry.base import utcnow
from registry.cases import get_case, list_cases
from registry.db import unit_of_work
from registry.models.case import case_reference
from registry.queries import case_thread
from registry.status import CaseStatus
from takedown.app import app
from takedown.casefmt import case_detail_json, print_case, print_case_table
from takedown.clikit import JsonOption, current_user, engine, errors, print_json

case_app = typer.Typer(help="One case.", no_args_is_help=True)
app.add_typer(case_app, name="case")


@app.command()
def cases(
    status: Annotated[
        list[CaseStatus] | None, typer.Option("--status", help="Only cases in this status.")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List cases."""
    with errors(), unit_of_work(engine()) as session:
        summaries = list_cases(session, statuses=status or (), limit=limit)
    if as_json:
        print_json([summary.to_json() for summary in summaries])
    else:
        print_case_table(summaries)


@case_app.command("show")
def case_show(
    case_id: Annotated[int, typer.Argument(metavar="ID", help="The case's number.")],
    as_json: JsonOption = False,
) -> None:
    """Show one case with its reports, timeline and correspondence."""
    with errors(), unit_of_work(engine()) as session:
        case = get_case(session, case_id)
        thread = case_thread(session, case_id)
        if as_json:
            print_json(case_detail_json(case, thread))
        else:
            print_case(case, thread)


NoteOption = Annotated[
    str, typer.Option("--note", help="What was done about it; kept on the case's record.")
]
ByOption = Annotated[
    str | None, typer.Option("--by", help="Who handled it (default: the current user).")
]


@case_app.command("handled")
def case_handled(
    case_id: Annotated[int, typer.Argument(metavar="ID", help="The case's number.")],
    note: NoteOption,
    by: ByOption = None,
) -> None:
    """Mark what made a case need an analyst dealt with: its flag and its queued messages."""
    with errors(), unit_of_work(engine()) as session:
        event = handle_case(session, by or current_user(), case_id, note, now=utcnow())
        messages = (event.detail or {}).get("messages")
    count = len(messages) if isinstance(messages, list) else 0
    handled = f" and {count} queued message(s)" if count else ""
    typer.echo(f"{case_reference(case_id)} handled{handled}; the note is on its record")
