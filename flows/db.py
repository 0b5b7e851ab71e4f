"""The database engine a flow run uses: one per process, built from the settings."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Engine

from registry import migrate
from registry.db import make_engine
from takedown.settings import get_settings


@lru_cache(maxsize=4)
def engine_for(url: str | None = None) -> Engine:
    """The engine for ``url`` (default: the settings'), checked to be at the current schema."""
    engine = make_engine(url or get_settings().database_url)
    migrate.ensure_current(engine)
    return engine
