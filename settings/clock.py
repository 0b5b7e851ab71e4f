"""The engine's clock: the one place the engine asks what time it is.

It is the system's UTC time, except inside :func:`clock_set_to`. The demo uses that to run the
engine on the sandbox's clock, which it moves a fixed step per tracking cycle: the world's
behaviours and the engine's ladder and rechecks then read one clock, so a slow cycle delays
both alike. Wall-clock pacing (timeouts, rate limits, Prefect) does not read this clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

EpochClock = Callable[[], float]
"""Seconds since the epoch, as ``time.time`` gives them."""

_source: EpochClock | None = None


def utcnow() -> datetime:
    """The current instant on the engine's clock, timezone-aware, in UTC."""
    source = _source
    if source is None:
        return datetime.now(UTC)
    return datetime.fromtimestamp(source(), UTC)


@contextmanager
def clock_set_to(source: EpochClock) -> Iterator[None]:
    """Make :func:`utcnow` read ``source`` for the block, in every thread of this process.

    Only for a process that runs the whole engine itself (the demo): workers elsewhere keep
    the system's time.
    """
    global _source
    previous, _source = _source, source
    try:
        yield
    finally:
        _source = previous
