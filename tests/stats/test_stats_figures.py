"""The percentile method, on values small enough to check by hand."""

from __future__ import annotations

import pytest

from registry.reporting.figures import DurationFigures, format_duration, percentile


def test_percentile_interpolates_linearly_between_closest_ranks() -> None:
    values = [10.0, 20.0, 30.0, 40.0]
    # h = (4 - 1) * q: the median sits halfway between 20 and 30, the 90th at 0.7 of 30 → 40.
    assert percentile(values, 0.5) == 25.0
    assert percentile(values, 0.9) == pytest.approx(30.0 + 0.7 * 10.0)
    assert percentile(values, 0.0) == 10.0
    assert percentile(values, 1.0) == 40.0


def test_an_odd_count_has_its_middle_value_as_median_and_one_value_is_every_percentile() -> None:
    assert percentile([1.0, 5.0, 9.0], 0.5) == 5.0
    assert percentile([7.0], 0.5) == 7.0
    assert percentile([7.0], 0.9) == 7.0


def test_an_empty_group_has_no_percentile_rather_than_zero() -> None:
    assert percentile([], 0.5) is None
    assert DurationFigures.of([]).to_json() == {
        "count": 0,
        "median_seconds": None,
        "p90_seconds": None,
    }


def test_figures_sort_their_input_first() -> None:
    figures = DurationFigures.of([40.0, 10.0, 30.0, 20.0])
    assert (figures.count, figures.median_seconds) == (4, 25.0)


def test_a_quantile_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        percentile([1.0], 1.5)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "—"),
        (0, "0s"),
        (40.4, "40s"),
        (59.6, "1m 00s"),
        (200, "3m 20s"),
        (45 * 60, "45m"),
        (3 * 3600 + 20 * 60, "3h 20m"),
        (2 * 86400 + 4 * 3600, "2d 4h"),
        (-90 * 60, "-1h 30m"),
    ],
)
def test_durations_read_as_people_write_them(seconds: float | None, shown: str) -> None:
    assert format_duration(seconds) == shown
