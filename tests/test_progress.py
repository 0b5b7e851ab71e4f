"""Progress reports: steps report per batch to whoever watches, and the command line draws bars
on a terminal only."""

from __future__ import annotations

import io

from rich.console import Console

from registry import progress
from takedown.progress import progress_bar
from tests.support.watcher import RecordingWatcher


def test_nothing_is_reported_when_nobody_watches() -> None:
    assert not progress.watching()
    with progress.tracked("trace", 10):
        progress.advance(3)  # no watcher: a no-op, not an error


def test_a_watcher_sees_the_work_begin_advance_and_end_even_when_it_fails() -> None:
    watcher = RecordingWatcher()
    with progress.watched_by(watcher):
        assert progress.watching()
        try:
            with progress.tracked("deliver", 5):
                progress.advance(2)
                progress.advance(0)  # nothing done: nothing said
                raise RuntimeError("relay gone")
        except RuntimeError:
            pass
    assert watcher.begun == [("deliver", 5)] and watcher.advanced == [2] and watcher.ended == 1
    assert not progress.watching()


def _terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=120, color_system=None), out


def test_a_terminal_gets_a_bar_with_the_count_done_of_the_total() -> None:
    console, out = _terminal()
    with progress_bar(False, console=console), progress.tracked("recheck", 10):
        progress.advance(4)
        progress.advance(6)
    text = out.getvalue()
    assert "recheck" in text and "10/10" in text


def test_work_of_unknown_size_ends_with_its_count_as_the_total() -> None:
    console, out = _terminal()
    with progress_bar(False, console=console), progress.tracked("trace", None):
        progress.advance(7)
    assert "7/7" in out.getvalue()


def test_json_output_and_pipes_get_no_bar() -> None:
    console, out = _terminal()
    with progress_bar(True, console=console):
        assert not progress.watching()
    plain = Console(file=io.StringIO(), force_terminal=False)
    with progress_bar(False, console=plain):
        assert not progress.watching()
    with progress_bar(False):  # pytest's standard output is not a terminal
        assert not progress.watching()
    assert out.getvalue() == ""
