"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

import registry.models  # noqa: F401
from registry import migrate
from registry.base import Base


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_database_is_at_head_and_ensure_current_passes(engine: Engine) -> None:
    migrate.ensure_current(engine)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())


def test_an_unmigrated_database_is_reported_plainly(tmp_path: object) -> None:
    from registry.db import make_engine

    engine = make_engine("sqlite://")
    try:
        migrate.ensure_current(engine)
    except migrate.SchemaNotCurrent as exc:
        assert "takedown db upgrade" in str(exc)
    else:
        raise AssertionError("an empty database passed the schema check")
    finally:
        engine.dispose()
