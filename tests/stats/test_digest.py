"""The daily digest flow publishes the figures as a markdown and a table artifact."""

from __future__ import annotations

import json

from prefect.client.orchestration import get_client
from sqlalchemy import Engine

from flows.digest import DIGEST_KEY, TABLE_KEY, cell, country_table, digest_flow, digest_markdown
from registry.db import unit_of_work
from registry.reporting.stats import compute_stats
from tests.stats.world import BZ_HOST, SINCE, build


def figures(engine: Engine) -> dict[str, object]:
    with unit_of_work(engine) as session:
        return compute_stats(session, since=SINCE).to_json()


def test_the_markdown_gives_counts_times_and_reappearance(engine: Engine) -> None:
    build(engine)
    text = digest_markdown(figures(engine))
    assert text.startswith("# Takedown digest: cases confirmed since 2026-10-25\n")
    assert "**9 cases**: new 1, held 1, notified 1, removed 3, reappeared 1," in text
    assert "**6 notices** (4 sent): host\\_takedown 4, police\\_referral 1, reminder 1" in text
    # Overall: to notice median 1 h 45 m, 90th 3 h 30 m; to removal 5 h / 1 d 14 h (38.4 h).
    assert "| **all** | 9 | 1h 45m / 3h 30m | 5h 00m / 1d 14h | 5 | 2 |" in text
    assert "| BZ | 5 | 2h 30m / 3h 42m | 3h 00m / 4h 36m | 3 | 1 |" in text
    assert f"| {BZ_HOST} | 5 | 3h 00m / 4h 36m | 3 | 1 |" in text
    assert "**Reappeared**: 2 of 5 removed cases (40.0%)." in text


def test_registry_text_cannot_become_a_link_or_break_the_table() -> None:
    assert cell("[click](http://evil.example)|x") == r"\[click\]\(http://evil.example\)\|x"
    assert cell("Evil\r\nHost") == "Evil  Host"
    assert cell(None) == "unknown"
    assert len(cell("x" * 500)) == 60


def test_the_table_rows_are_in_hours_with_unknown_named(engine: Engine) -> None:
    build(engine)
    rows = country_table(figures(engine))
    assert rows[0] == {
        "country": "BZ", "cases": 5, "removed": 3, "still_up": 1,
        "notice_median_h": 2.5, "notice_p90_h": 3.7,
        "removal_median_h": 3.0, "removal_p90_h": 4.6,
    }  # fmt: skip
    assert rows[2]["country"] == "unknown" and rows[2]["removal_median_h"] is None


def test_the_flow_publishes_both_artifacts(
    prefect_harness: None, engine: Engine, database_url: str
) -> None:
    build(engine)
    state = digest_flow(period_days=None, database_url=database_url, return_state=True)
    assert state.result()["cases"]["total"] == 10
    run_id = state.state_details.flow_run_id
    assert run_id is not None
    with get_client(sync_client=True) as client:
        # The REST filter itself: this client version's read_artifacts sends nulls the
        # server refuses.
        response = client.request(
            "POST",
            "/artifacts/filter",
            json={
                "artifacts": {"flow_run_id": {"any_": [str(run_id)]}},
                "limit": 10,
                "offset": 0,
                "sort": "CREATED_DESC",
            },
        )
    by_key = {a["key"]: a for a in response.json()}
    assert set(by_key) == {DIGEST_KEY, TABLE_KEY}
    assert by_key[DIGEST_KEY]["type"] == "markdown"
    assert by_key[DIGEST_KEY]["data"].startswith("# Takedown digest: all cases\n")
    assert by_key[TABLE_KEY]["type"] == "table"
    table = json.loads(by_key[TABLE_KEY]["data"])
    assert [row["country"] for row in table] == ["BZ", "KY", "unknown"]
