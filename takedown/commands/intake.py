"""``takedown intake FILE``: open cases from confirmed reports."""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Annotated, BinaryIO

import typer

from registry.db import unit_of_work
from registry.intake.service import ingest_file
from takedown.app import app
from takedown.clikit import CommandError, JsonOption, current_user, engine, errors, print_json
from takedown.clikit import settings as get_settings


@app.command()
def intake(
    file: Annotated[Path, typer.Argument(help="Confirmed reports: CSV, JSON array or JSON Lines.")],
    as_json: JsonOption = False,
) -> None:
    """Open cases from a file of confirmed reports."""
    with errors():
        settings = get_settings()
        with open_input(file) as data, unit_of_work(engine()) as session:
            result = ingest_file(
                session,
                data,
                file.name,
                categories=settings.categories,
                default_source=settings.default_source,
                actor=f"cli:{current_user()}",
            )
    if result.ignored_columns:
        typer.echo(
            "note: ignored column(s), not stored: " + ", ".join(result.ignored_columns), err=True
        )
    if as_json:
        print_json(result.to_json())
        return
    typer.echo(
        f"{result.received} received: {result.cases_opened} cases opened, "
        f"{result.reports_attached} reports attached to open cases, "
        f"{result.duplicates} duplicates, {len(result.rejected)} rejected"
    )
    for rejection in result.rejected:
        label = f" ({rejection.report_id})" if rejection.report_id else ""
        typer.echo(f"  line {rejection.line}{label}: {rejection.error}")


def open_input(path: Path) -> AbstractContextManager[BinaryIO]:
    """``path`` opened for reading (intake streams it), or standard input for ``-``."""
    if str(path) == "-":
        return nullcontext(sys.stdin.buffer)
    if path.is_dir():
        raise CommandError(f"{path} is a folder, not a file")
    return path.open("rb")
