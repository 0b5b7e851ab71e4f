"""Fixtures: the example world served on loopback, its settings, and Prefect's test harness."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hosting.common.limits import Limits, RetryPolicy, SourceTimeouts
from registry.tracing.sources import TraceSources
from sandbox.testing import EXAMPLE_WORLD, SandboxHandle, running_sandbox
from sandbox.world.load import load_world
from sandbox.world.model import World
from settings import Settings, get_settings

QUICK_LIMITS = Limits(
    timeouts=SourceTimeouts(dns=0.5, rdap=1.0, whois=1.0),
    retry=RetryPolicy(attempts=2, base_delay=0.05, max_delay=0.1, max_retry_after=0.0),
)
"""Limits for fault tests: a silent server costs a second, not a minute."""


@pytest.fixture(scope="session")
def example_world() -> World:
    return load_world(EXAMPLE_WORLD)


@pytest.fixture(scope="module")
def served(example_world: World) -> Iterator[SandboxHandle]:
    """The example world, shared by the tests of a module that do not change its faults."""
    with running_sandbox(example_world) as handle:
        yield handle


def engine_settings(handle: SandboxHandle) -> dict[str, str]:
    """The ``TAKEDOWN_*`` settings that point the engine at ``handle``."""
    return {k: v for k, v in handle.env.items() if not k.startswith("TAKEDOWN_SANDBOX_")}


def point_at(monkeypatch: pytest.MonkeyPatch, handle: SandboxHandle) -> Settings:
    """Set the environment as the sandbox prints it; return the settings read from it."""
    for name, value in engine_settings(handle).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return get_settings()


def settings_for(handle: SandboxHandle) -> Settings:
    """The settings the sandbox prints, read as the engine reads its environment."""
    values: dict[str, Any] = {
        k.removeprefix("TAKEDOWN_").lower(): v for k, v in engine_settings(handle).items()
    }
    return Settings.model_validate(values)


@pytest.fixture
def sources(served: SandboxHandle) -> TraceSources:
    """Trace sources built from the settings the sandbox prints."""
    return TraceSources.from_settings(settings_for(served))
