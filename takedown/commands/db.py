"""``takedown db …``: the database schema."""

from __future__ import annotations

import typer

from registry import migrate
from takedown.app import app
from takedown.clikit import errors, settings

db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create the database or bring it up to the current schema."""
    with errors():
        migrate.upgrade(settings().database_url)
        typer.echo(f"database is at revision {migrate.head_revision()}")
