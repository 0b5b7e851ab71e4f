"""The declarative base: naming convention, UTC timestamps, and the ``created_at`` mix-in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, String, Table
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from settings import clock

# Stable constraint names, so Alembic can find and alter them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current instant, timezone-aware, in UTC, on the engine's clock (the system's time
    but in the demo: see :mod:`settings.clock`)."""
    return clock.utcnow()


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the backend stores.

    SQLite has no time zones: values are stored as naive UTC and given their zone back on
    load. Naive datetimes are refused on the way in, since their meaning is a guess.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"timestamps must be timezone-aware, got {value!r}")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Base of every model of the system of record."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012 (read by SQLAlchemy once)


class Timestamped:
    """Adds ``created_at``, set by the application at insert time."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def str_enum(enum_class: type[Any]) -> SAEnum:
    """A column type storing a ``StrEnum`` by value, with no database enum or CHECK.

    Without a database-side type, a new status needs no migration; the application is the one
    place that decides what a valid value is.
    """
    return SAEnum(
        enum_class,
        native_enum=False,
        create_constraint=False,
        length=20,
        values_callable=lambda members: [member.value for member in members],
    )


def ascii_key(length: int) -> TypeEngine[str]:
    """A text key that holds ASCII only (digests, codes, identifiers): on PostgreSQL compared
    byte by byte (collation "C"), which is cheaper for its indexes than the locale's rules and
    gives the same equality."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


def table_of(model: type[Any]) -> Table:
    """The Core table of a mapped class, for the bulk statements that bypass the ORM."""
    table = model.__table__
    assert isinstance(table, Table)
    return table
