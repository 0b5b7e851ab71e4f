"""The database engine a flow run uses: one per process, built from the settings."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Engine

from registry import migrate
from registry.db import make_engine
from settings import get_settings


def engine_for(url: str | None = None) -> Engine:
    """The engine for ``url`` (default: the settings'), checked to be at the current schema."""
    # Keyed by the resolved URL: a changed TAKEDOWN_DATABASE_URL must not get a stale engine.
    return _engine(url or get_settings().database_url)


@lru_cache(maxsize=8)
def _engine(url: str) -> Engine:
    engine = make_engine(url)
    migrate.ensure_current(engine)
    return engine
