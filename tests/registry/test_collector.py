"""Collector policies for bulk work leave the collector as they found it, however nested."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from registry.bulk.collector import LONG_RUN_THRESHOLDS, collector_for_long_runs, collector_paused


@pytest.fixture(autouse=True)
def _collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_collector_is_off_inside_and_on_again_after() -> None:
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_it_is_on_again_after_an_error() -> None:
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()
    gc.enable()


def test_overlapping_intakes_in_threads_leave_it_on() -> None:
    inside = threading.Barrier(4)

    def intake() -> None:
        with collector_paused():
            inside.wait(timeout=10)

    threads = [threading.Thread(target=intake) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert gc.isenabled()


def test_a_long_run_collects_less_often_and_restores_the_thresholds() -> None:
    before = gc.get_threshold()
    with collector_for_long_runs():
        assert gc.get_threshold() == LONG_RUN_THRESHOLDS
        assert gc.get_freeze_count() > 0  # what existed before the run is set aside
        with collector_for_long_runs():
            assert gc.get_threshold() == LONG_RUN_THRESHOLDS
        assert gc.get_threshold() == LONG_RUN_THRESHOLDS
    assert gc.get_threshold() == before


def test_cycles_made_during_a_long_run_are_still_collected() -> None:
    class Node:
        other: object

    with collector_for_long_runs():
        a, b = Node(), Node()
        a.other, b.other = b, a
        del a, b
        assert gc.collect() >= 2
