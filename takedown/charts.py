"""The removal-time chart: how long content stayed up after the first notice, per country.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, so no global state and safe
in a web worker's threads); the caller gets PNG bytes.
"""

from __future__ import annotations

import io
import random
import re
from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator
from matplotlib.transforms import blended_transform_factory

from registry.reporting.figures import TakedownStats, format_duration, percentile

_HOUR = 3600.0
_FLOOR_HOURS = 1 / 60
"""Times under a minute (or negative, from clock skew) are drawn at one minute: a log axis
has no zero."""

_TICKS = (
    (1 / 60, "1 min"),
    (0.25, "15 min"),
    (1, "1 h"),
    (6, "6 h"),
    (24, "1 day"),
    (168, "1 week"),
    (720, "30 days"),
    (2160, "90 days"),
    (8760, "1 year"),
)


@dataclass(frozen=True, slots=True)
class ChartLayout:
    """Limits that keep the picture readable whatever the data."""

    max_countries: int = 20
    """The countries with most removals; the rest are folded into one row."""
    max_points: int = 300
    """Per row, at most this many individual times are drawn as dots over the box."""
    width_inches: float = 10.0
    dpi: int = 110


def removal_time_chart(stats: TakedownStats, layout: ChartLayout | None = None) -> bytes:
    """A PNG of the distribution of time to verified removal, one row per hosting country,
    labelled with its count of removals; a message instead when there is none."""
    layout = layout or ChartLayout()
    rows = _rows(stats, layout.max_countries)
    height = 2.2 + 0.42 * max(len(rows), 3)
    figure = Figure(figsize=(layout.width_inches, height), dpi=layout.dpi, layout="constrained")
    axes = figure.add_subplot()
    figure.suptitle(
        "Time from first notice to verified removal, by hosting country",
        fontsize=13,
        fontweight="bold",
    )
    axes.set_title(_period(stats), fontsize=10, color="#444444")
    if not rows:
        axes.text(
            0.5, 0.5, "No verified removals in this period", ha="center", va="center", fontsize=12
        )
        axes.set_axis_off()
        return _png(figure, layout.dpi)

    hours = [[max(s / _HOUR, _FLOOR_HOURS) for s in seconds] for _, seconds in rows]
    labels = [
        f"{name}  ({len(seconds):,} case{'s' if len(seconds) != 1 else ''})"
        for name, seconds in rows
    ]
    positions = list(range(len(rows), 0, -1))  # the first row at the top
    # Box statistics computed here, with the percentile method of the figures (matplotlib's
    # own whiskers stop at the last data point inside the range, which misleads on few cases).
    boxes: list[dict[str, object]] = [
        {
            "med": percentile(values, 0.5),
            "q1": percentile(values, 0.25),
            "q3": percentile(values, 0.75),
            "whislo": percentile(values, 0.1),
            "whishi": percentile(values, 0.9),
            "fliers": [],
        }
        for values in (sorted(v) for v in hours)
    ]
    axes.bxp(
        boxes,
        positions=positions,
        orientation="horizontal",
        widths=0.6,
        showfliers=False,
        patch_artist=True,
        manage_ticks=False,
        boxprops={"facecolor": "#cfe0f3", "edgecolor": "#2b5d8a"},
        medianprops={"color": "#c0392b", "linewidth": 2},
        whiskerprops={"color": "#2b5d8a"},
        capprops={"color": "#2b5d8a"},
    )
    jitter = random.Random(0)  # fixed seed: the same data draws the same picture
    for position, values in zip(positions, hours, strict=True):
        shown = (
            values if len(values) <= layout.max_points else jitter.sample(values, layout.max_points)
        )
        axes.scatter(
            shown,
            [position + jitter.uniform(-0.18, 0.18) for _ in shown],
            s=9,
            color="#1f3b57",
            alpha=0.45,
            linewidths=0,
            zorder=3,
        )
    axes.set_yticks(positions, labels)
    # The median in words at the right of each row: the figure a reader usually wants.
    to_right = blended_transform_factory(axes.transAxes, axes.transData)
    for position, (_, seconds) in zip(positions, rows, strict=True):
        axes.text(
            1.01,
            position,
            f"median {format_duration(percentile(sorted(seconds), 0.5))}",
            transform=to_right,
            va="center",
            fontsize=9,
            color="#c0392b",
        )
    axes.set_xscale("log")
    low = min(min(values) for values in hours)
    high = max(max(values) for values in hours)
    axes.set_xlim(low / 1.6, high * 1.6)
    ticks = [(at, text) for at, text in _TICKS if low / 1.6 <= at <= high * 1.6]
    axes.xaxis.set_major_locator(FixedLocator([at for at, _ in ticks]))
    axes.set_xticklabels([text for _, text in ticks])
    axes.xaxis.set_minor_locator(NullLocator())
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.grid(axis="x", color="#dddddd", linewidth=0.8)
    axes.set_axisbelow(True)
    axes.set_xlabel("time from first notice to verified removal (log scale)", fontsize=10)
    # A figure-level label, so the constrained layout keeps it clear of the axis label.
    figure.supxlabel(
        "box: middle half of the cases · red line: median · whiskers: 10th to 90th percentile"
        f" · dots: single cases (at most {layout.max_points:,} a row)",
        fontsize=8.5,
        color="#555555",
    )
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return _png(figure, layout.dpi)


def _rows(stats: TakedownStats, max_countries: int) -> list[tuple[str, list[float]]]:
    """The rows top to bottom: the countries with most removals, slowest median first (the
    rows a reader should look at first), then the rest folded into one."""
    ranked = sorted(
        stats.removal_seconds_by_country.items(),
        key=lambda item: (-len(item[1]), item[0] is None, item[0] or ""),
    )
    kept = sorted(ranked[:max_countries], key=lambda item: -(percentile(item[1], 0.5) or 0.0))
    rows = [(_country(country), list(seconds)) for country, seconds in kept]
    rest = [s for _, seconds in ranked[max_countries:] for s in seconds]
    if rest:
        folded = len(ranked) - max_countries
        rows.append((f"{folded} other countr{'y' if folded == 1 else 'ies'}", rest))
    return rows


def _country(code: str | None) -> str:
    # Registry data is hostile: only a plain code reaches the picture (no mathtext "$…$").
    if code is None:
        return "unknown"
    return code if re.fullmatch(r"[A-Za-z]{2}", code) else "??"


def _period(stats: TakedownStats) -> str:
    start = f"confirmed since {stats.since:%d %b %Y}" if stats.since else "all cases"
    removals = stats.overall.to_removal.count
    return (
        f"{start}, as of {stats.generated_at:%d %b %Y %H:%M} UTC — "
        f"{removals:,} verified removal{'s' if removals != 1 else ''}"
    )


def _png(figure: Figure, dpi: int) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()
