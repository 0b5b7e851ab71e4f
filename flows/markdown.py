"""Text from outside (reporters' rows, registry answers) made inert in a markdown artifact.

The Prefect UI renders artifacts as markdown: a report id such as ``![x](http://…)`` would
otherwise make an analyst's browser fetch whatever it points at, and a ``|`` would break the
table it sits in.
"""

from __future__ import annotations

import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def cell(text: object, width: int = 60) -> str:
    """``text`` with no links, no markup, no table breaks, no control characters, and at most
    ``width`` characters; ``None`` reads "unknown"."""
    if text is None:
        return "unknown"
    clean = _UNPRINTABLE.sub(" ", str(text))
    clean = clean if len(clean) <= width else clean[: width - 1] + "…"
    return _MARKDOWN_SPECIAL.sub(r"\\\1", clean)


def rejected_table(rejected: list[dict[str, object]], limit: int = 200) -> list[str]:
    """The lines of a markdown table of an intake's first ``limit`` rejected rows."""
    lines = ["| line | report | reason |", "|---:|---|---|"]
    lines += [
        f"| {r['line']} | {cell(r['report_id'])} | {cell(r['error'], 200)} |"
        for r in rejected[:limit]
    ]
    return lines
