"""Fixtures for the escalation and demo tests: the example directory, a composer, and a helper
that runs the ladder on a database."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import pytest
from sqlalchemy import Engine

from notices.directory import Directory, load_directory
from notices.mail.message import NoticeComposer
from registry.db import unit_of_work
from registry.escalation.service import EscalateSummary, escalate_cases, ladder_case_ids
from tests.notices.samples import EXAMPLE_DIRECTORY

EscalateRun = Callable[..., EscalateSummary]


@pytest.fixture(scope="session")
def directory() -> Directory:
    return load_directory(EXAMPLE_DIRECTORY)


@pytest.fixture(scope="session")
def composer(directory: Directory) -> NoticeComposer:
    return NoticeComposer(directory)


@pytest.fixture
def run_escalate(engine: Engine, directory: Directory, composer: NoticeComposer) -> EscalateRun:
    """Run the ladder at ``now`` on every case it may concern (or ``case_ids``), committed."""

    def run(now: datetime, case_ids: Sequence[int] | None = None) -> EscalateSummary:
        with unit_of_work(engine) as session:
            ids = list(case_ids) if case_ids is not None else ladder_case_ids(session)
            return escalate_cases(
                session, ids, directory=directory, composer=composer, now=now, actor="test"
            )

    return run
