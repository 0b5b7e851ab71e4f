"""The ``takedown`` Typer application; command modules in ``takedown.commands`` add to it."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="takedown",
    help="Notice-and-takedown workflow engine for hotlines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
