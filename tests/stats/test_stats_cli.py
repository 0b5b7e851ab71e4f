"""``takedown stats``, ``blocklist`` and ``domains``: contract shapes and one-line failures."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from registry.db import unit_of_work
from registry.models import AuditEntry
from takedown.cli import app
from tests.stats.world import build

runner = CliRunner()
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def db_env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    monkeypatch.setenv("TAKEDOWN_DATABASE_URL", database_url)
    monkeypatch.setenv("USER", "ana")
    return database_url


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_stats_json_on_an_empty_database_prints_zeros_and_nulls(db_env: str) -> None:
    code, out, err = invoke("stats", "--json")
    assert (code, err) == (0, "")
    figures = json.loads(out)
    assert set(figures) == {
        "period", "cases", "notices", "times", "slowest_providers", "reappearance",
    }  # fmt: skip
    assert figures["cases"]["total"] == 0
    assert figures["times"]["overall"] == {
        "cases": 0, "notified": 0, "removed": 0, "awaiting_removal": 0,
        "time_to_first_notice": {"count": 0, "median_seconds": None, "p90_seconds": None},
        "time_to_removal": {"count": 0, "median_seconds": None, "p90_seconds": None},
    }  # fmt: skip
    assert figures["reappearance"]["rate"] is None


def test_stats_reports_the_period_as_text_and_draws_the_chart(
    db_env: str, engine: Engine, tmp_path: Path
) -> None:
    build(engine)
    chart = tmp_path / "removals.png"
    code, out, _ = invoke("stats", "--since", "2026-10-25", "--chart", str(chart))
    assert code == 0
    assert "cases confirmed since 2026-10-25 00:00 UTC" in out
    assert "Cases: 9 (new 1, held 1, notified 1, removed 3, reappeared 1, closed 1," in out
    assert "Reappeared: 2 of 5 removed cases (40.0%)" in out
    assert chart.read_bytes().startswith(PNG)
    code, out, _ = invoke("stats", "--since", "2026-10-25T00:00:00Z", "--json")
    assert json.loads(out)["period"]["since"] == "2026-10-25T00:00:00+00:00"


def test_a_bad_since_is_one_line_and_exit_2(db_env: str) -> None:
    code, _, err = invoke("stats", "--since", "last week")
    assert code == 2
    assert (
        err
        == "error: --since 'last week' is not a date such as 2026-10-01 or 2026-10-01T08:00:00Z\n"
    )


def test_blocklist_prints_real_urls_and_writes_a_private_file(
    db_env: str, engine: Engine, tmp_path: Path
) -> None:
    build(engine)
    code, out, _ = invoke("blocklist", "--format", "txt", "--jurisdiction", "KY")
    assert (code, out) == (0, "http://b.example.ky/6\n")
    target = tmp_path / "list.csv"
    code, out, err = invoke("blocklist", "--out", str(target))
    assert (code, out, err) == (0, "", f"wrote 3 URLs to {target}\n")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text().splitlines()[0] == (
        "url,first_confirmed,category,hosting_country,case_reference"
    )
    code, _, err = invoke("blocklist", "--jurisdiction", "Belize")
    assert (code, err) == (2, "error: 'Belize' is not a two-letter country code such as BZ\n")
    with unit_of_work(engine) as session:
        exports = session.execute(select(AuditEntry.actor, AuditEntry.subject, AuditEntry.detail))
        assert [tuple(row) for row in exports] == [
            ("ana", "blocklist:txt", {"jurisdiction": "KY", "include_held": False, "count": 1}),
            ("ana", "blocklist:csv", {"jurisdiction": None, "include_held": False, "count": 3}),
        ]


def test_domains_mark_list_unmark_and_the_rpz(db_env: str) -> None:
    assert invoke("domains", "mark", "Abusive.Example", "--reason", "whole site")[:2] == (
        0, "marked abusive.example (and every name below it)\n",
    )  # fmt: skip
    code, out, _ = invoke("domains", "list", "--json")
    [mark] = json.loads(out)
    assert (mark["domain"], mark["marked_by"], mark["reason"]) == (
        "abusive.example", "ana", "whole site",
    )  # fmt: skip
    code, out, _ = invoke("blocklist", "--format", "rpz")
    assert "abusive.example CNAME .\n*.abusive.example CNAME .\n" in out
    code, _, err = invoke("domains", "mark", "co.uk", "--reason", "no")
    assert (code, err) == (2, "error: 'co.uk' is a public suffix; it cannot be blocked whole\n")
    assert invoke("domains", "unmark", "abusive.example")[:2] == (0, "unmarked abusive.example\n")
    code, _, err = invoke("domains", "unmark", "abusive.example")
    assert (code, err) == (2, "error: abusive.example is not marked\n")
    assert invoke("domains", "list")[1] == "no marked domains\n"
