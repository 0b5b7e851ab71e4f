"""Fixtures for the inbox tests: the example directory, a composer, and received messages made
from the recorded samples, addressed to what a test's notices really were."""

from __future__ import annotations

from pathlib import Path

import pytest

from notices.directory import Directory, load_directory
from notices.mail.message import NoticeComposer
from registry.replies.reroute import Rerouting
from tests.notices.samples import EXAMPLE_DIRECTORY

MAIL = Path(__file__).resolve().parent.parent / "notices" / "inbound" / "mail"


@pytest.fixture(scope="session")
def directory() -> Directory:
    return load_directory(EXAMPLE_DIRECTORY)


@pytest.fixture(scope="session")
def composer(directory: Directory) -> NoticeComposer:
    return NoticeComposer(directory)


@pytest.fixture(scope="session")
def rerouting(directory: Directory, composer: NoticeComposer) -> Rerouting:
    return Rerouting(directory, composer)


def sample(name: str, **swap: str) -> bytes:
    """A recorded sample with its addresses, Message-IDs and references swapped for a test's."""
    text = (MAIL / name).read_text(encoding="utf-8")
    for old, new in swap.items():
        text = text.replace(old.replace("__", "."), new)
    return text.encode("utf-8")
