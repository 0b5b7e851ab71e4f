"""The removal-time chart: a PNG whatever the data, one row per country, readable sizes."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from matplotlib.image import imread
from sqlalchemy import Engine

from registry.db import unit_of_work
from registry.reporting.figures import TakedownStats
from registry.reporting.stats import compute_stats
from takedown.charts import ChartLayout, _rows, removal_time_chart
from tests.stats.world import SINCE, build


def figures(engine: Engine) -> TakedownStats:
    with unit_of_work(engine) as session:
        return compute_stats(session, since=SINCE, now=datetime(2026, 11, 23, tzinfo=UTC))


def pixels(png: bytes) -> tuple[int, int]:
    image = imread(io.BytesIO(png), format="png")
    return int(image.shape[1]), int(image.shape[0])


def test_the_chart_is_a_png_with_a_row_per_country(engine: Engine) -> None:
    build(engine)
    stats = figures(engine)
    # KY's median (36 h) is slower than BZ's (3 h): it comes first, at the top.
    assert [name for name, _ in _rows(stats, 20)] == ["KY", "BZ"]
    width, height = pixels(removal_time_chart(stats))
    assert (width, height) == (1100, int((2.2 + 0.42 * 3) * 110))


def test_countries_past_the_limit_are_folded_into_one_row(engine: Engine) -> None:
    build(engine)
    stats = figures(engine)
    rows = _rows(stats, 1)
    assert [(name, len(seconds)) for name, seconds in rows] == [("BZ", 3), ("1 other country", 2)]
    assert removal_time_chart(stats, ChartLayout(max_countries=1)).startswith(b"\x89PNG")


def test_no_removals_still_draws_a_picture_that_says_so(engine: Engine) -> None:
    width, height = pixels(removal_time_chart(figures(engine)))
    assert width == 1100 and height > 300
