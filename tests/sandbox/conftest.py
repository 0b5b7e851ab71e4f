"""Fixtures: the example world, and sandboxes serving it on free loopback ports."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.testing import EXAMPLE_WORLD, ManualClock, SandboxHandle, running_sandbox
from sandbox.world.load import load_world
from sandbox.world.model import World

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "peer"


@pytest.fixture(scope="session")
def example_world() -> World:
    return load_world(EXAMPLE_WORLD)


@pytest.fixture(scope="module")
def served(example_world: World) -> Iterator[SandboxHandle]:
    """A sandbox shared by the tests of a module that only read from it."""
    with running_sandbox(example_world) as handle:
        yield handle


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def lively(example_world: World, clock: ManualClock) -> Iterator[SandboxHandle]:
    """A fresh sandbox whose behaviour timers run on a clock the test moves."""
    with running_sandbox(example_world, clock=clock) as handle:
        yield handle


def require(tool: str) -> str:
    """The path of a command-line client, or skip the test saying which package is missing."""
    path = shutil.which(tool)
    if path is None:
        packages = {"dig": "dnsutils", "whois": "whois", "curl": "curl"}
        pytest.skip(f"{tool} is not installed (Debian package {packages.get(tool, tool)})")
    return path


def fixtures_folder(*parts: str) -> Path:
    """A folder of the shared peer fixtures, or skip if they are not beside the repository."""
    folder = FIXTURES.joinpath(*parts)
    if not folder.is_dir():
        pytest.skip(f"peer fixtures not found at ../shared/fixtures/peer/{'/'.join(parts)}")
    return folder
