"""What every command shares: error reporting, the engine, JSON output."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.exc import ArgumentError, OperationalError, ProgrammingError

from registry import migrate
from registry.db import engine_for, make_engine
from settings import Settings, get_settings

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]


class CommandError(Exception):
    """A failure the user can act on; its message is printed as is."""


@contextmanager
def errors() -> Iterator[None]:
    """Turn the failures a user can meet into one line on stderr and exit status 2.

    Domain errors are ``LookupError`` (a case that does not exist) or ``ValueError`` (bad
    input, an illegal transition) subclasses, whose messages are written for the user.
    """
    try:
        yield
    except (KeyError, IndexError, UnicodeError):
        raise  # bugs, not user errors: the entry point reports them as unexpected
    except ValidationError as exc:
        problems = "; ".join(
            f"TAKEDOWN_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        fail(f"invalid settings: {problems}")
    except ArgumentError as exc:
        fail(f"TAKEDOWN_DATABASE_URL is not a usable database URL: {exc}")
    except (OperationalError, ProgrammingError) as exc:
        fail(f"database error: {str(exc.orig).strip().splitlines()[0]}")
    except OSError as exc:
        fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))
    except (CommandError, LookupError, ValueError, migrate.SchemaNotCurrent) as exc:
        fail(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)


def fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def settings() -> Settings:
    return get_settings()


def engine(check_schema: bool = True) -> Engine:
    """The engine of the configured database, checked to be at the current schema."""
    url = settings().database_url
    return engine_for(url) if check_schema else make_engine(url)


def print_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False))


def current_user() -> str:
    return os.environ.get("USER") or "unknown"
