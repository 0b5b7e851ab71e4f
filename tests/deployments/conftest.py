"""One real Prefect server for the deployment tests, with ``prefect.yaml`` deployed as written.

The server is ``prefect server start`` in a subprocess with its own ``PREFECT_HOME``, keeping
its state in a database of its own on the test PostgreSQL, as in production (its SQLite answers
concurrent writers "database is locked", a 503, when the machine is busy); the work pool is
made and the deployments created with the ``prefect`` command line, from the repository's root,
as the operations guide tells an operator to.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.postgres import TemporaryPostgres
from tests.support.prefect_server import PrefectServer, clean_environment

REPO = Path(__file__).resolve().parents[2]
TAKEDOWN = str(Path(sys.executable).parent / "takedown")
DEPLOYMENTS = (
    "takedown/takedown",
    "tracking-cycle/tracking-cycle",
    "deliver/deliver",
    "daily-digest/daily-digest",
    "intake/intake",
    "inbox/inbox",
)
"""Every deployment of ``prefect.yaml``, as ``flow/deployment``."""


@dataclass(frozen=True)
class Deployed:
    """The server, and what ``prefect work-pool create`` and ``prefect deploy --all`` said."""

    server: PrefectServer
    pool: subprocess.CompletedProcess[str]
    deploy: subprocess.CompletedProcess[str]


@pytest.fixture(scope="session")
def deployed(
    postgres: TemporaryPostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployed]:
    folder = tmp_path_factory.mktemp("prefect-server")
    database = f"prefect_{os.getpid()}"
    postgres.execute(f"CREATE DATABASE {database}")
    url = postgres.url_for(database).replace("+psycopg2", "+asyncpg")
    try:
        with PrefectServer(folder, database_url=url) as server:
            pool = server.cli("work-pool", "create", "takedown", "--type", "process")
            deploy = server.cli("--no-prompt", "deploy", "--all", cwd=REPO)
            yield Deployed(server, pool, deploy)
    finally:
        postgres.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def engine_database(postgres: TemporaryPostgres, name: str, *, migrated: bool) -> str:
    """A new database on the test PostgreSQL: an empty one upgraded by ``takedown db upgrade``
    as an operator would, or a copy of the migrated template."""
    database = f"{name}_{os.getpid()}"
    template = " TEMPLATE takedown" if migrated else ""
    postgres.execute(f"CREATE DATABASE {database}{template}")
    url = postgres.url_for(database)
    if not migrated:
        upgrade = subprocess.run(
            [TAKEDOWN, "db", "upgrade"],
            env=clean_environment() | {"TAKEDOWN_DATABASE_URL": url},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    return url


def drop_database(postgres: TemporaryPostgres, url: str) -> None:
    database = url.rsplit("/", 1)[1]
    postgres.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
