"""Outbox contents for the delivery tests: one pending notice per case, to its own host."""

from __future__ import annotations

from sqlalchemy import Engine

from registry.db import unit_of_work
from tests.notify.conftest import NotifyRun
from tests.notify.seed import Hosting, traced_case


def queue_notices(engine: Engine, run_notify: NotifyRun, count: int) -> list[int]:
    """Queue ``count`` host notices (hosting in FR: no partner, no rule); return the case ids."""
    with unit_of_work(engine) as session:
        ids = [
            traced_case(
                session,
                f"http://files.host{n}.example/{n}.jpg",
                Hosting(country="FR", host_emails=[f"abuse@host{n}.example"]),
            )
            for n in range(count)
        ]
    summary = run_notify()
    assert summary.notices == count
    return ids
