"""The ``takedown`` command line. Errors are one readable line and a non-zero exit."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.exc import ArgumentError, OperationalError, ProgrammingError

from registry import migrate
from registry.cases import CaseNotFound, get_case, list_cases
from registry.db import make_engine, unit_of_work
from registry.intake.reader import UnreadableFile
from registry.intake.service import ingest_file
from registry.lifecycle import IllegalTransition
from registry.status import CaseStatus
from takedown.casefmt import case_detail_json, print_case, print_case_table
from takedown.settings import Settings, get_settings

app = typer.Typer(
    name="takedown",
    help="Notice-and-takedown workflow engine for hotlines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
case_app = typer.Typer(help="One case.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(case_app, name="case")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]


class CommandError(Exception):
    """A failure the user can act on; its message is printed as is."""


@contextmanager
def _errors() -> Iterator[None]:
    """Turn the failures a user can meet into one line on stderr and exit status 2."""
    try:
        yield
    except (CommandError, UnreadableFile, CaseNotFound, IllegalTransition) as exc:
        _fail(str(exc))
    except migrate.SchemaNotCurrent as exc:
        _fail(str(exc))
    except ValidationError as exc:
        problems = "; ".join(
            f"TAKEDOWN_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        _fail(f"invalid settings: {problems}")
    except ArgumentError as exc:
        _fail(f"TAKEDOWN_DATABASE_URL is not a usable database URL: {exc}")
    except (OperationalError, ProgrammingError) as exc:
        _fail(f"database error: {str(exc.orig).strip().splitlines()[0]}")
    except OSError as exc:
        _fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _settings() -> Settings:
    return get_settings()


def _engine(check_schema: bool = True) -> Engine:
    engine = make_engine(_settings().database_url)
    if check_schema:
        migrate.ensure_current(engine)
    return engine


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=None))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create the database or bring it up to the current schema."""
    with _errors():
        url = _settings().database_url
        migrate.upgrade(url)
        typer.echo(f"database is at revision {migrate.head_revision()}")


@app.command()
def intake(
    file: Annotated[Path, typer.Argument(help="Confirmed reports: CSV, JSON array or JSON Lines.")],
    as_json: JsonOption = False,
) -> None:
    """Open cases from a file of confirmed reports."""
    with _errors():
        settings = _settings()
        data = _read_input(file)
        with unit_of_work(_engine()) as session:
            result = ingest_file(
                session,
                data,
                file.name,
                categories=settings.categories,
                default_source=settings.default_source,
                actor=f"cli:{_user()}",
            )
        if result.ignored_columns:
            typer.echo(
                "note: ignored column(s), not stored: " + ", ".join(result.ignored_columns),
                err=True,
            )
        if as_json:
            _print_json(result.to_json())
            return
        typer.echo(
            f"{result.received} received: {result.cases_opened} cases opened, "
            f"{result.reports_attached} reports attached to open cases, "
            f"{result.duplicates} duplicates, {len(result.rejected)} rejected"
        )
        for rejection in result.rejected:
            label = f" ({rejection.report_id})" if rejection.report_id else ""
            typer.echo(f"  line {rejection.line}{label}: {rejection.error}")


@app.command()
def cases(
    status: Annotated[
        list[CaseStatus] | None, typer.Option("--status", help="Only cases in this status.")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List cases."""
    with _errors(), unit_of_work(_engine()) as session:
        summaries = list_cases(session, statuses=status or (), limit=limit)
    if as_json:
        _print_json([summary.to_json() for summary in summaries])
    else:
        print_case_table(summaries)


@case_app.command("show")
def case_show(
    case_id: Annotated[int, typer.Argument(metavar="ID", help="The case's number.")],
    as_json: JsonOption = False,
) -> None:
    """Show one case with its reports and timeline."""
    with _errors(), unit_of_work(_engine()) as session:
        case = get_case(session, case_id)
        if as_json:
            _print_json(case_detail_json(case))
        else:
            print_case(case)


def _read_input(path: Path) -> bytes:
    if str(path) == "-":
        return sys.stdin.buffer.read()
    if path.is_dir():
        raise CommandError(f"{path} is a folder, not a file")
    return path.read_bytes()


def _user() -> str:
    return os.environ.get("USER") or "unknown"


def main() -> None:
    """Entry point: never lets a traceback reach the user unless TAKEDOWN_DEBUG is set."""
    try:
        app()
    except Exception as exc:  # the last line of defence; known failures are handled above
        if os.environ.get("TAKEDOWN_DEBUG"):
            raise
        typer.echo(
            f"error: unexpected failure ({type(exc).__name__}: {exc}); "
            "set TAKEDOWN_DEBUG=1 to see the traceback",
            err=True,
        )
        sys.exit(1)
