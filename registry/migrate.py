"""Schema migrations, run from code so that an installed package can migrate its database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, text

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaNotCurrent(RuntimeError):
    """The database is missing or behind the code's schema."""


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


class UnsuitableDatabase(ValueError):
    """The database cannot hold what Takedown stores (the message says why and what to do)."""


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision``.

    Raises :class:`UnsuitableDatabase`, before changing anything, for a PostgreSQL database
    that is not UTF-8.
    """
    check_encoding(url)
    command.upgrade(alembic_config(url), revision)


def check_encoding(url: str) -> None:
    """Refuse a PostgreSQL database whose encoding is not UTF-8.

    Notices, registry names and partner addresses are in many scripts. A ``SQL_ASCII``
    database (what ``initdb`` makes under the C locale) stores their bytes unchecked and hands
    them back undecodable, and a ``LATIN1`` one refuses them: either fails long after set-up,
    on the first notice to a host with an accented name.
    """
    if not url.startswith("postgresql"):
        return
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            encoding = connection.execute(text("SHOW server_encoding")).scalar_one()
            name = connection.execute(text("SELECT current_database()")).scalar_one()
    finally:
        engine.dispose()
    if str(encoding).upper() not in {"UTF8", "UTF-8"}:
        raise UnsuitableDatabase(
            f"database {name!r} is encoded {encoding}, not UTF-8: create it with "
            f"'createdb --encoding UTF8 --template template0 {name}' (see docs/operations.md)"
        )


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def ensure_current(engine: Engine) -> None:
    """Raise :class:`SchemaNotCurrent` unless the database is at the code's schema."""
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current != head_revision():
        state = "not set up" if current is None else f"at revision {current}"
        raise SchemaNotCurrent(f"the database is {state}; run 'takedown db upgrade' first")
