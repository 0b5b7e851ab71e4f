"""The engine's clock: the system's time, or for a block the clock the demo hands in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hosting.common.evidence import Evidence
from registry.base import utcnow
from sandbox.testing import ManualClock
from settings.clock import clock_set_to


def test_the_engine_reads_the_system_time_by_default() -> None:
    assert abs(utcnow() - datetime.now(UTC)) < timedelta(seconds=5)


def test_inside_the_block_every_timestamp_reads_the_given_clock() -> None:
    clock = ManualClock(start=1_800_000_000.0)
    with clock_set_to(clock):
        assert utcnow() == datetime.fromtimestamp(1_800_000_000, UTC)
        clock.advance(3)
        assert utcnow() == datetime.fromtimestamp(1_800_000_003, UTC)
        assert Evidence.capture("dns", "127.0.0.1", "q", b"a").at == utcnow()
    assert abs(utcnow() - datetime.now(UTC)) < timedelta(seconds=5)
