"""Fixtures for the notify and delivery tests: the example directory, one composer, a loopback
relay, and helpers that run notify on a database."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine

from notices.directory import Directory, load_directory
from notices.mail.message import NoticeComposer
from registry.db import unit_of_work
from registry.notifying.service import NotifySummary, notify_cases, waiting_case_ids
from tests.notices.relay import LoopbackRelay
from tests.notices.samples import EXAMPLE_DIRECTORY
from tests.notify.seed import MONDAY


@pytest.fixture(scope="session")
def directory() -> Directory:
    return load_directory(EXAMPLE_DIRECTORY)


@pytest.fixture(scope="session")
def composer(directory: Directory) -> NoticeComposer:
    return NoticeComposer(directory)


NotifyRun = Callable[..., NotifySummary]


@pytest.fixture
def run_notify(engine: Engine, directory: Directory, composer: NoticeComposer) -> NotifyRun:
    """Notify every waiting case (or ``case_ids``) at ``now``, committed."""

    def run(
        now: datetime = MONDAY,
        case_ids: Sequence[int] | None = None,
        directory_: Directory | None = None,
    ) -> NotifySummary:
        chosen = directory_ or directory
        with unit_of_work(engine) as session:
            ids = list(case_ids) if case_ids is not None else waiting_case_ids(session)
            return notify_cases(
                session,
                ids,
                directory=chosen,
                composer=composer if chosen is directory else NoticeComposer(chosen),
                actor="test",
                now=now,
            )

    return run


@pytest.fixture
def relay_factory() -> Iterator[Callable[..., LoopbackRelay]]:
    started: list[LoopbackRelay] = []

    def start(**options: Any) -> LoopbackRelay:
        relay = LoopbackRelay(**options).start()
        started.append(relay)
        return relay

    yield start
    for relay in started:
        relay.close()
