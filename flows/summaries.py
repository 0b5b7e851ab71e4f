"""Adding up the summaries of a flow's batches into the run's summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any


def add_up(
    batches: Sequence[dict[str, Any]], counts: Sequence[str], tallies: str
) -> dict[str, Any]:
    """One summary for the whole run: ``counts`` summed, the ``tallies`` mapping merged."""
    total: dict[str, Any] = {"batches": len(batches), **{key: 0 for key in counts}}
    merged: Counter[str] = Counter()
    for batch in batches:
        for key in counts:
            total[key] += int(batch[key])
        merged.update(batch[tallies])
    total[tallies] = dict(sorted(merged.items()))
    return total
