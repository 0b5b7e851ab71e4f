"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

import registry.models  # noqa: F401
from registry import migrate
from registry.base import Base


def _for_this_database(dialect: str) -> Callable[..., bool]:
    """Leave out what the models declare for another database only (``ddl_if``), which the
    schema comparison does not know about."""

    def include(item: object, _name: object, kind: str, _reflected: bool, _other: object) -> bool:
        condition = getattr(item, "_ddl_if", None)
        return condition is None or condition.dialect in (None, dialect)

    return include


# On SQLite the comparison says it cannot compare the PostgreSQL-only expression index before
# include_object leaves it out; PostgreSQL compares it.
@pytest.mark.filterwarnings(
    "ignore:autogenerate skipping metadata-specified expression-based index:UserWarning"
)
def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": False,
                "include_object": _for_this_database(engine.dialect.name),
            },
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_the_recheck_claim_reads_its_partial_index_on_postgresql(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the index exists on PostgreSQL only")
    claim = _claim_sql(engine)
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(row[0] for row in connection.execute(text(f"EXPLAIN {claim}")))
    assert "ix_cases_recheck_due" in plan, plan


def _claim_sql(engine: Engine) -> str:
    """The recheck claim's inner select, as the claim sends it."""
    from datetime import UTC, datetime

    from registry.tracking.claims import due_cases

    due = due_cases(datetime(2026, 1, 1, tzinfo=UTC), 1000)
    return str(due.compile(engine, compile_kwargs={"literal_binds": True}))


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


def test_every_32_bit_as_number_fits(engine: Engine) -> None:
    # Private-use AS numbers (RFC 6996) reach 4294967294, past a signed 32-bit integer: a URL
    # hosted in such a network could not be traced on PostgreSQL.
    from registry.db import unit_of_work
    from registry.models import Organisation
    from registry.status import OrganisationRole

    largest = 4_294_967_294
    with unit_of_work(engine) as session:
        session.add(Organisation(role=OrganisationRole.HOST, name="Private Network", asn=largest))
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT max(asn) FROM organisations")) == largest
