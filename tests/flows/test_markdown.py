"""Rejected rows reach the Prefect UI as markdown: nothing a reporter wrote may become markup."""

from __future__ import annotations

import re

from flows.markdown import cell, rejected_table


def test_a_hostile_report_id_and_reason_stay_text_in_the_rejected_table() -> None:
    rejected: list[dict[str, object]] = [
        {"line": 2, "report_id": "![x](http://127.0.0.1/a.jpg)", "error": "bad | <img src=x>"},
        {"line": 3, "report_id": "[link](javascript:alert(1))", "error": "line\nbreak\x07"},
    ]
    lines = rejected_table(rejected)
    body = lines[2:]
    assert len(body) == 2
    for line in body:
        # Exactly the table's own four unescaped pipes: nothing split a cell.
        assert len(re.findall(r"(?<!\\)\|", line)) == 4, line
        # No unescaped image, link or tag syntax is left.
        assert not re.search(r"(?<!\\)[\[\]()<>!]", line), line
        assert "\n" not in line and "\x07" not in line


def test_a_cell_is_cut_to_its_width_and_none_reads_unknown() -> None:
    assert cell(None) == "unknown"
    assert cell("a" * 100, width=10) == "a" * 9 + "…"


def test_only_the_first_rows_are_listed() -> None:
    rejected: list[dict[str, object]] = [
        {"line": n, "report_id": f"r{n}", "error": "x"} for n in range(500)
    ]
    assert len(rejected_table(rejected, limit=200)) == 2 + 200
