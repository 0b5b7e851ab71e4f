"""Pausing Python's cyclic garbage collector while an intake builds its rows.

An intake of 100,000 reports allocates a few hundred thousand small containers (rows, dicts,
tuples) that hold no reference cycles: reference counting frees every one of them. The cyclic
collector would still walk them again and again as they pile up, which costs a quarter of the
intake's CPU and finds nothing. Pausing it changes no result; cycles made meanwhile anywhere in
the process are collected at the first collection after the pause.
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
