"""Fixtures for the notices tests: the example directory and a loopback SMTP relay."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from notices.directory import Directory, load_directory
from notices.facts import CaseFacts
from tests.notices.relay import LoopbackRelay
from tests.notices.samples import EXAMPLE_DIRECTORY, make_case


@pytest.fixture(scope="session")
def directory() -> Directory:
    return load_directory(EXAMPLE_DIRECTORY)


@pytest.fixture
def case_factory() -> Callable[..., CaseFacts]:
    return make_case


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
