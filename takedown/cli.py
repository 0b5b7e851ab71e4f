"""The ``takedown`` command line. Errors are one readable line and a non-zero exit."""

from __future__ import annotations

import os
import sys

import typer

from takedown.app import app

# Each import registers a command group on the app.
from takedown.commands import cases, db, intake, sandbox  # noqa: F401

__all__ = ["app", "main"]


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
