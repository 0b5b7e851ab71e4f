"""Summaries of batch work, declared once as a dataclass and serialised and added up generically.

A step's summary (what one trace, notify, escalate, delivery or recheck batch did) is a
dataclass of counts (``int``) and tallies (``Counter``) deriving from :class:`Tally`. Tasks hand
summaries to their flow as plain JSON; the flow adds up its batches into the run's summary.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from typing import Any, Self


class Tally:
    """Base of summary dataclasses: every ``int`` field is a count, every ``Counter`` a tally."""

    __slots__ = ()

    def to_json(self) -> dict[str, Any]:
        """Plain values, in field order: counts as numbers, tallies as sorted mappings."""
        data: dict[str, Any] = {}
        for item in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, item.name)
            data[item.name] = dict(sorted(value.items())) if isinstance(value, Counter) else value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        """Read back what :meth:`to_json` wrote (tasks hand summaries to their flow)."""
        values: dict[str, Any] = {}
        for item in dataclasses.fields(cls):  # type: ignore[arg-type]
            if item.name not in data:
                continue
            raw = data[item.name]
            if isinstance(raw, dict):
                values[item.name] = Counter({str(k): int(v) for k, v in raw.items() if v})
            else:
                values[item.name] = int(raw)
        return cls(**values)

    def add(self, other: Self) -> None:
        """Fold ``other`` into this summary."""
        for item in dataclasses.fields(self):  # type: ignore[arg-type]
            mine, theirs = getattr(self, item.name), getattr(other, item.name)
            if isinstance(mine, Counter):
                mine.update(theirs)
            else:
                setattr(self, item.name, mine + theirs)

    @classmethod
    def add_up(cls, batches: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """The run's summary: how many batches, then every count summed and tally merged."""
        total = cls()
        for batch in batches:
            total.add(cls.from_json(batch))
        return {"batches": len(batches), **total.to_json()}
