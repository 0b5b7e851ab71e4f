"""The figures of ``takedown stats`` as typed values, and the percentile they rest on.

Pure: nothing here touches the database. :mod:`registry.reporting.stats` fills these from a session.

Percentiles use linear interpolation between the closest ranks (Hyndman and Fan's type 7, the
default of R, NumPy and spreadsheets' ``PERCENTILE.INC``): for ``n`` sorted values
``x[0] … x[n-1]`` and a fraction ``q``, let ``h = (n - 1) * q``; the percentile is
``x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)])``. The median is the 50th
percentile, so with an even count it is the mean of the two middle values. An empty group has
no percentile (``None``, ``null`` in JSON), never zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0 ≤ q ≤ 1) of ``ordered`` (sorted ascending), or None if empty."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"a quantile is between 0 and 1, not {q}")
    if not ordered:
        return None
    h = (len(ordered) - 1) * q
    low = math.floor(h)
    if low + 1 >= len(ordered):
        return float(ordered[low])
    return float(ordered[low] + (h - low) * (ordered[low + 1] - ordered[low]))


@dataclass(frozen=True, slots=True)
class DurationFigures:
    """How long one step took over a group of cases: how many, median, 90th percentile."""

    count: int
    median_seconds: float | None
    p90_seconds: float | None

    @classmethod
    def of(cls, seconds: Sequence[float]) -> DurationFigures:
        """The figures of ``seconds`` (in any order)."""
        ordered = sorted(seconds)
        return cls(len(ordered), percentile(ordered, 0.5), percentile(ordered, 0.9))

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "median_seconds": self.median_seconds,
            "p90_seconds": self.p90_seconds,
        }


EMPTY_DURATION = DurationFigures(0, None, None)


@dataclass(frozen=True, slots=True)
class GroupFigures:
    """The figures of the cases hosted in one country, or by one provider."""

    name: str | None
    """The country code or the provider's name; None when hosting is not known."""
    cases: int
    notified: int
    """Cases that had a first notice."""
    removed: int
    """Cases whose removal was verified."""
    awaiting_removal: int
    """Cases notified and up now (notified, moved or reappeared)."""
    to_first_notice: DurationFigures
    to_removal: DurationFigures

    def to_json(self, key: str | None) -> dict[str, Any]:
        """The JSON shape, with the group's name under ``key`` (``country`` or ``provider``).

        Without ``key`` (the figures over every case) the name is left out.
        """
        named: dict[str, Any] = {key: self.name} if key else {}
        return named | {
            "cases": self.cases,
            "notified": self.notified,
            "removed": self.removed,
            "awaiting_removal": self.awaiting_removal,
            "time_to_first_notice": self.to_first_notice.to_json(),
            "time_to_removal": self.to_removal.to_json(),
        }


@dataclass(frozen=True, slots=True)
class NoticeCount:
    """Notices of one kind, or to one recipient: all of them, and those that went out."""

    total: int
    sent: int


@dataclass(frozen=True, slots=True)
class RecipientCount:
    role: str
    email: str
    name: str | None
    count: NoticeCount


@dataclass(frozen=True, slots=True)
class Reappearance:
    """Cases that came back after their removal was verified."""

    removed: int
    reappeared: int

    @property
    def rate(self) -> float | None:
        """``reappeared / removed``; None when nothing was removed."""
        return self.reappeared / self.removed if self.removed else None


@dataclass(frozen=True, slots=True)
class TakedownStats:
    """Everything ``takedown stats`` reports for one period. ``to_json()`` is the contract."""

    since: datetime | None
    generated_at: datetime
    cases_by_state: dict[str, int]
    notices_by_status: dict[str, int]
    notices_by_kind: dict[str, NoticeCount]
    notices_by_recipient: list[RecipientCount]
    overall: GroupFigures
    by_country: list[GroupFigures]
    by_provider: list[GroupFigures]
    slowest_providers: list[GroupFigures]
    reappearance: Reappearance
    removal_seconds_by_country: dict[str | None, list[float]] = field(repr=False)
    """Every verified removal time (sorted), per hosting country: what the chart draws."""

    @property
    def total_cases(self) -> int:
        return sum(self.cases_by_state.values())

    @property
    def total_notices(self) -> int:
        return sum(self.notices_by_status.values())

    def to_json(self) -> dict[str, Any]:
        """The shape of ``takedown stats --json``; every key is documented for users."""
        return {
            "period": {
                "since": self.since.isoformat() if self.since else None,
                "generated_at": self.generated_at.isoformat(),
            },
            "cases": {"total": self.total_cases, "by_state": dict(self.cases_by_state)},
            "notices": {
                "total": self.total_notices,
                "by_status": dict(self.notices_by_status),
                "by_kind": [
                    {"kind": kind, "total": count.total, "sent": count.sent}
                    for kind, count in self.notices_by_kind.items()
                ],
                "by_recipient": [
                    {
                        "role": r.role,
                        "email": r.email,
                        "name": r.name,
                        "total": r.count.total,
                        "sent": r.count.sent,
                    }
                    for r in self.notices_by_recipient
                ],
            },
            "times": {
                "overall": self.overall.to_json(None),
                "by_country": [group.to_json("country") for group in self.by_country],
                "by_provider": [group.to_json("provider") for group in self.by_provider],
            },
            "slowest_providers": [group.to_json("provider") for group in self.slowest_providers],
            "reappearance": {
                "removed": self.reappearance.removed,
                "reappeared": self.reappearance.reappeared,
                "rate": self.reappearance.rate,
            },
        }


def format_duration(seconds: float | None) -> str:
    """A duration for people: ``40s``, ``3m 20s``, ``45m``, ``3h 20m``, ``2d 4h``; ``—`` when
    there is none. Seconds are shown below ten minutes (the sandbox's world acts in seconds)."""
    if seconds is None:
        return "—"
    sign = "-" if seconds < 0 else ""
    whole = round(abs(seconds))
    if whole < 60:
        return f"{sign}{whole}s"
    if whole < 600:
        return f"{sign}{whole // 60}m {whole % 60:02d}s"
    minutes = round(abs(seconds) / 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{sign}{days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    return f"{sign}{minutes}m"
