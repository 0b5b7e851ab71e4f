"""The ``takedown`` command line. Errors are one readable line and a non-zero exit."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys

import typer

import takedown.commands
from takedown.app import app

# Every module in takedown.commands registers its commands on the app when imported.
for _module in pkgutil.iter_modules(takedown.commands.__path__):
    importlib.import_module(f"takedown.commands.{_module.name}")

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
