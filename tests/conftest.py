"""Fixtures shared by the whole suite: settings isolation and databases on both backends.

Every test that takes ``database_url`` runs twice: on a SQLite file and on the PostgreSQL server
this session starts itself. Each test gets a fresh database copied from one migrated template,
so tests may commit freely and still never see each other's rows.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from registry import migrate
from registry.db import make_engine
from settings import get_settings
from tests.support.postgres import PostgresUnavailable, TemporaryPostgres

REPO = Path(__file__).resolve().parent.parent
PEER_FIXTURES = REPO.parent / "shared" / "fixtures" / "peer"

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test reads the developer's TAKEDOWN_* environment or .env file."""
    for name in list(os.environ):
        if name.startswith("TAKEDOWN_") and not name.startswith("TAKEDOWN_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def postgres() -> Iterator[TemporaryPostgres]:
    if os.environ.get("TAKEDOWN_TEST_SKIP_POSTGRES"):
        pytest.skip("TAKEDOWN_TEST_SKIP_POSTGRES is set")
    try:
        server = TemporaryPostgres().start()
    except PostgresUnavailable as exc:
        pytest.fail(f"cannot start the test PostgreSQL server: {exc}")
    try:
        migrate.upgrade(server.url)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


_counter = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated, empty database on each backend in turn."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "takedown.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    server: TemporaryPostgres = request.getfixturevalue("postgres")
    name = f"t{os.getpid()}_{next(_counter)}"
    server.execute(f"CREATE DATABASE {name} TEMPLATE takedown")
    yield server.url_for(name)
    server.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect server for every flow test of the session (it takes seconds, and
    up to a minute on a busy machine: one server, started once, with a patient timeout)."""
    from prefect.testing.utilities import prefect_test_harness

    # Prefect binds its console log handler to the standard error of the moment it is first
    # imported; importing a flow here keeps that from being a test runner's short-lived one.
    import flows.tracing  # noqa: F401

    with prefect_test_harness(server_startup_timeout=120):
        yield
