"""``takedown cases`` and ``takedown case show ID``."""

from __future__ import annotations

from typing import Annotated

import typer

from registry.cases import get_case, list_cases
from registry.db import unit_of_work
from registry.queries import case_thread
from registry.status import CaseStatus
from takedown.app import app
from takedown.casefmt import case_detail_json, print_case, print_case_table
from takedown.clikit import JsonOption, engine, errors, print_json

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
