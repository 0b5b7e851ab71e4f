"""Validation's one look at a whole clean row gives what a search of each field gives."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.intake import validate
from registry.intake.validate import RowRejected, ValidReport, validate_report
from settings import DEFAULT_CATEGORIES

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
# Control characters, line breaks, blanks that strip() removes and isprintable() refuses.
ODD = " \t\n\r\x00\x0b\x0c\x1f\x7f\x85\xa0\u2028"
FIELDS = {
    "report_id": st.sampled_from(["r1", "r 1", "r1\x7f"]),
    "url": st.sampled_from(["http://a.bz/x", "http://a.bz/\n", "ftp://a.bz/"]),
    "confirmed_at": st.sampled_from(["2026-11-20T10:00:00Z", "2026-11-20T10:00:00"]),
    "category": st.sampled_from(["A", "b", "Z"]),
    "source": st.sampled_from(["bz", "KY", "b z"]),
    "analyst": st.text("ab", max_size=3),
    "content_sha256": st.sampled_from(["", "ab" * 32, "xy"]),
    "notes": st.text("ab@.c", max_size=8),
}


@st.composite
def rows(draw: st.DrawFn) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, values in FIELDS.items():
        if draw(st.booleans()):
            value = draw(values)
            # An odd character at the edge (stripped) or inside (kept) of some fields.
            odd = draw(st.one_of(st.just(""), st.text(ODD, min_size=1, max_size=2)))
            value = draw(st.sampled_from([value + odd, odd + value, value[:1] + odd + value[1:]]))
            fields[name] = draw(st.one_of(st.just(value), st.just(value), st.none(), st.just(7)))
    return fields


def outcome(fields: dict[str, Any]) -> ValidReport | str:
    try:
        return validate_report(
            3, fields, categories=DEFAULT_CATEGORIES, default_source="local", now=NOW
        )
    except RowRejected as exc:
        return f"rejected: {exc}"


@settings(max_examples=1000, deadline=None)
@given(rows())
def test_clean_rows_skip_the_per_field_search_with_the_same_outcome(fields: dict[str, Any]) -> None:
    fast = outcome(fields)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(validate, "_is_plain", lambda fields: False)
        assert outcome(fields) == fast


def test_a_plain_row_is_recognised() -> None:
    assert validate._is_plain({"report_id": "r1", "notes": "a b"})
    for odd in ("a\nb", "a\rb", "a\x00", "a\x7f", "\xa0", 7, None):
        assert not validate._is_plain({"report_id": "r1", "notes": odd}), odd
