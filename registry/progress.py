"""How far long work has come, for whoever is watching.

The command line watches with a progress bar on a terminal (:mod:`takedown.progress`); nothing
else does, and then every call here costs a context-variable read. Batch loops report once per
batch, never per row, so watching costs nothing measurable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol


class Watcher(Protocol):
    """Shows the progress of one piece of work at a time."""

    def begin(self, label: str, total: int | None) -> None:
        """Work called ``label`` starts; ``total`` units of it (None: not known)."""

    def advance(self, done: int) -> None:
        """``done`` more units are finished."""

    def end(self) -> None:
        """The work is over (finished, or stopped early)."""


_watcher: ContextVar[Watcher | None] = ContextVar("takedown_progress_watcher", default=None)


@contextmanager
def watched_by(watcher: Watcher) -> Iterator[None]:
    """Report the progress of the work done inside the block to ``watcher``."""
    token = _watcher.set(watcher)
    try:
        yield
    finally:
        _watcher.reset(token)


@contextmanager
def tracked(label: str, total: int | None) -> Iterator[None]:
    """Bracket one piece of work: begin, then end however the block leaves."""
    watcher = _watcher.get()
    if watcher is None:
        yield
        return
    watcher.begin(label, total)
    try:
        yield
    finally:
        watcher.end()


def advance(done: int) -> None:
    """``done`` more units of the current work are finished."""
    watcher = _watcher.get()
    if watcher is not None and done:
        watcher.advance(done)


def watching() -> bool:
    """Whether anyone watches (so a caller may skip counting the work up front)."""
    return _watcher.get() is not None
