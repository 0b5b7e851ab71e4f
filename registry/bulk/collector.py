"""Keeping Python's cyclic garbage collector from eating the CPU of bulk work.

Reference counting frees almost everything the engine allocates; the cyclic collector only
matters for reference cycles, which bulk work makes few of. Yet it walks the objects again and
again as they pile up:

- An intake of 100,000 reports allocates a few hundred thousand small containers (rows, dicts,
  tuples) without cycles, and the collector cost a quarter of its CPU finding nothing:
  :func:`collector_paused` switches it off for the intake. Cycles made meanwhile anywhere in
  the process are collected at the first collection after the pause.
- A recheck run is long and allocates steadily (requests, answers, timers); each full
  collection walked the whole heap, Prefect's and SQLAlchemy's hundreds of thousands of
  import-time objects included, a third of the recheck's CPU. :func:`collector_for_long_runs`
  sets aside (freezes) what exists when the run starts, which is never garbage, and collects
  the young generation every 20,000 allocations instead of every 700: cycles are still
  collected, just in fewer, larger sweeps.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
"""Intakes currently inside :func:`collector_paused` (several may run in a server's threads)."""
_resume = False
"""Whether the collector was on when the first of them paused it."""


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic collector for the block; it is on again after the last such block ends.

    A counter under a lock, not a bare ``isenabled()``/``disable()`` pair: two threads
    interleaving the bare pair could leave the collector off for good.
    """
    global _holders, _resume
    with _lock:
        if _holders == 0:
            _resume = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _resume:
                gc.enable()


LONG_RUN_THRESHOLDS = (20_000, 20, 100)
"""Collection thresholds during a long run (Python's defaults are 700, 10, 10)."""

_runs = 0
_saved_thresholds: tuple[int, int, int] | None = None


@contextmanager
def collector_for_long_runs() -> Iterator[None]:
    """Freeze the objects that exist now and collect less often, for the block.

    The thresholds are as they were after the last such block ends (several may run in a
    process's threads). The objects frozen stay frozen: a reference cycle among them that
    becomes garbage later is never collected, which is fine for what a worker process imports
    and sets up once, and why this is for processes that do this work (a flow run), not for
    a process that lives for weeks doing everything.
    """
    global _runs, _saved_thresholds
    with _lock:
        if _runs == 0:
            gc.collect()
            gc.freeze()
            _saved_thresholds = gc.get_threshold()
            gc.set_threshold(*LONG_RUN_THRESHOLDS)
        _runs += 1
    try:
        yield
    finally:
        with _lock:
            _runs -= 1
            if _runs == 0 and _saved_thresholds is not None:
                gc.set_threshold(*_saved_thresholds)
