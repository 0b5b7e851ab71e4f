"""Engines and the unit of work: services flush, the boundary commits once."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.orm import Session, sessionmaker

from registry import migrate
from settings import get_settings


def configured_url(url: str | None = None) -> str:
    """``url``, or the configured ``TAKEDOWN_DATABASE_URL`` when none is given."""
    return url or get_settings().database_url


def engine_for(url: str | None = None) -> Engine:
    """The engine every boundary (a command, a request, a flow run) works through: one per
    database and process, checked to be at the current schema when first made.

    ``url`` defaults to the settings'. Raises :class:`registry.migrate.SchemaNotCurrent` for a
    database that is missing or behind; ``takedown db upgrade`` uses :func:`make_engine`.
    """
    # Keyed by the resolved URL: a changed TAKEDOWN_DATABASE_URL must not get a stale engine.
    return _checked_engine(configured_url(url))


@lru_cache(maxsize=8)
def _checked_engine(url: str) -> Engine:
    engine = make_engine(url)
    migrate.ensure_current(engine)
    return engine


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with the settings each backend needs to be safe under load."""
    if url.startswith("sqlite"):
        # Worker threads share the engine; SQLite serialises writers itself (busy_timeout).
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url, **kwargs)
    event.listen(engine, "checkin", _checked_in)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


IDLE_PING_SECONDS = 1.0
"""A pooled connection idle longer than this is pinged before use (see :func:`_ping_if_idle`)."""


def _checked_in(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Check that a connection idle for over a second is still alive, before it is handed out.

    A server restart or a dropped connection is found here and the pool opens a new one, as
    ``pool_pre_ping`` would; but ``pool_pre_ping`` pays a round trip on every checkout, which
    under load is a statement more per request, while a connection that was just in use needs
    no such check (a failure then is the request's, as it would be a moment later anyway).
    """
    since = record.info.get("idle_since")
    if since is None or time.monotonic() - since <= IDLE_PING_SECONDS:
        return
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
        dbapi_connection.rollback()  # the driver began a transaction for it
    except Exception as error:  # whatever the driver raises for a dead connection
        # The pool discards this connection and checks out (or opens) another.
        raise exc.DisconnectionError(str(error)) from error


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (the web app) proceed while a flow writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


_factories: WeakKeyDictionary[Engine, sessionmaker[Session]] = WeakKeyDictionary()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """The session maker of ``engine``, made once: each sessionmaker defines a Session class
    of its own, which costs far more than a session, so one per request would be waste."""
    factory = _factories.get(engine)
    if factory is None:
        # Two threads may both make one; either is as good as the other.
        factory = _factories[engine] = sessionmaker(engine, expire_on_commit=False)
    return factory


_readers: WeakKeyDictionary[Engine, sessionmaker[Session]] = WeakKeyDictionary()


def read_session(engine: Engine) -> Session:
    """A session for reads only: on PostgreSQL its statements run without a transaction around
    them (autocommit), which saves the ``BEGIN`` and ``ROLLBACK`` round trips a request would
    otherwise pay. Each statement still sees one consistent snapshot, as under READ COMMITTED,
    the default, where a transaction gives no more than that to a series of reads; reads that
    must agree with each other take a snapshot of their own (``REPEATABLE READ``). Never write
    through it.

    Its connections are a pool of their own, opened in autocommit once: switching a pooled
    connection in and out of autocommit costs psycopg2 a round trip each way.
    """
    factory = _readers.get(engine)
    if factory is None:
        bind = engine
        if engine.dialect.name == "postgresql":
            bind = make_engine(
                engine.url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
            )
        factory = _readers[engine] = sessionmaker(bind, expire_on_commit=False)
        if bind is not engine:
            # Closed with the engine it serves (tests make and dispose engines by the dozen).
            event.listen(engine, "engine_disposed", lambda _engine: bind.dispose())
    return factory()


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed once at the end, or rolled back on any error."""
    with session_factory(engine)() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def writers_queue(engine: Engine) -> Iterator[None]:
    """Hold an exclusive lock shared by every process writing to the same SQLite file.

    SQLite lets one writer in at a time and makes the others poll with growing sleeps (up to
    a tenth of a second each), so under steady writing from two processes a writer can lose
    the race again and again for seconds. Waiting on an operating-system file lock instead
    queues writers and wakes the next as soon as the lock is free. PostgreSQL and in-memory
    databases need no such thing: this does nothing for them. Not re-entrant: never hold it
    while taking it again.
    """
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    with open(f"{database}-writers.lock", "a+b") as gate:
        fcntl.flock(gate, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(gate, fcntl.LOCK_UN)
