"""A pooled PostgreSQL connection that died while idle is replaced before it is handed out."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, text

from registry.db import IDLE_PING_SECONDS, make_engine


def test_a_connection_killed_while_idle_is_replaced(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server to lose a connection to")
    with engine.connect() as connection:
        victim = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    # Back in the pool, idle, it is ended from outside (as a restart or a firewall would).
    killer = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        with killer.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": victim})
            other.commit()
    finally:
        killer.dispose()
    time.sleep(IDLE_PING_SECONDS + 0.2)  # both idle long enough to be checked
    for _ in range(2):
        with engine.connect() as connection:
            pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
            assert pid != victim
