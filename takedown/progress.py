"""Progress bars for long commands, on a terminal only.

Commands wrap their work in :func:`progress_bar`; the steps report through
:mod:`registry.progress` once per batch. Nothing is drawn with ``--json`` or when the output is
not a terminal, so scripts and pipes see exactly what they saw before.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from registry.progress import watched_by


class RateColumn(ProgressColumn):
    """Units per second, from rich's own speed estimate."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f}/s" if speed else "", style="progress.data.speed")


class BarWatcher:
    """Shows each piece of work as one bar: label, bar, done of total, rate, time left."""

    def __init__(self, console: Console) -> None:
        # A few redraws a second, whatever the number of updates: the bar costs nothing
        # that a benchmark could see.
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            RateColumn(),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=console,
            refresh_per_second=4,
            transient=False,
        )
        self._task: TaskID | None = None

    def begin(self, label: str, total: int | None) -> None:
        if self._task is None:
            self._progress.start()
        else:
            self._progress.stop_task(self._task)
        self._task = self._progress.add_task(label, total=total)

    def advance(self, done: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, done)

    def end(self) -> None:
        if self._task is not None:
            task = self._progress.tasks[-1]
            if task.total is None:  # unknown beforehand: what was done is the whole
                self._progress.update(self._task, total=task.completed)
            self._progress.stop_task(self._task)

    def close(self) -> None:
        self._progress.stop()


@contextmanager
def progress_bar(as_json: bool, *, console: Console | None = None) -> Iterator[None]:
    """Show the work done in the block as progress bars on standard error, when standard
    output is a terminal and no JSON was asked for (``console``: draw there instead)."""
    if console is None:
        if as_json or not sys.stdout.isatty():
            yield
            return
        console = Console(stderr=True)
    if as_json or not console.is_terminal:
        yield
        return
    watcher = BarWatcher(console)
    try:
        with watched_by(watcher):
            yield
    finally:
        watcher.close()
