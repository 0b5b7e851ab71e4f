"""The statistics agree with a hand count of a small, fully known world (both backends)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine

from registry.db import unit_of_work
from registry.reporting.figures import TakedownStats
from registry.reporting.stats import SlowestRanking, compute_stats
from tests.stats.world import BZ_HOST, KY_NET, SINCE, build

HOUR = 3600.0


def stats(engine: Engine, **kwargs: object) -> TakedownStats:
    with unit_of_work(engine) as session:
        return compute_stats(session, **kwargs)  # type: ignore[arg-type]


def times(median: float | None, p90: float | None, count: int) -> dict[str, object]:
    return {"count": count, "median_seconds": median, "p90_seconds": p90}


def test_counts_by_state_kind_and_recipient_match_the_world(engine: Engine) -> None:
    build(engine)
    result = stats(engine, since=SINCE).to_json()
    assert result["cases"] == {
        "total": 9,
        "by_state": {
            "new": 1, "tracing": 0, "traced": 0, "trace_failed": 0, "held": 1, "notified": 1,
            "moved": 0, "removed": 3, "reappeared": 1, "closed": 1, "withdrawn": 1,
        },
    }  # fmt: skip
    notices = result["notices"]
    assert notices["total"] == 6
    assert notices["by_status"] == {
        "pending": 1, "held": 0, "sending": 0, "sent": 4, "failed": 1, "cancelled": 0,
    }  # fmt: skip
    assert notices["by_kind"] == [
        {"kind": "host_takedown", "total": 4, "sent": 3},
        {"kind": "police_referral", "total": 1, "sent": 0},
        {"kind": "reminder", "total": 1, "sent": 1},
    ]
    assert notices["by_recipient"] == [
        {"role": "host", "email": "abuse@bzhost.example", "name": None, "total": 4, "sent": 3},
        {"role": "host", "email": "noc@kynet.example", "name": None, "total": 1, "sent": 1},
        {"role": "police", "email": "unit@police.example", "name": "Police unit", "total": 1,
         "sent": 0},
    ]  # fmt: skip


def test_medians_and_90th_percentiles_match_a_hand_count(engine: Engine) -> None:
    build(engine)
    result = stats(engine, since=SINCE).to_json()["times"]
    # Confirmation → first notice, in hours: 1, 2, 4, 3, 0.5, 1.5. Sorted (seconds):
    # 1800, 3600, 5400, 7200, 10800, 14400. Median at h = 5 * 0.5 = 2.5: halfway 5400 → 7200.
    # 90th at h = 5 * 0.9 = 4.5: halfway 10800 → 14400.
    assert result["overall"]["time_to_first_notice"] == times(
        (5400 + 7200) / 2, (10800 + 14400) / 2, 6
    )
    # First notice → removal, in hours: 3, 5, 1, 24, 48 → 3600, 10800, 18000, 86400, 172800.
    # Median: the middle value. 90th at h = 4 * 0.9 = 3.6: 86400 + 0.6 * (172800 - 86400).
    assert result["overall"]["time_to_removal"] == times(18000.0, 86400 + 0.6 * (172800 - 86400), 5)
    assert (result["overall"]["cases"], result["overall"]["removed"]) == (9, 5)

    by_country = {row["country"]: row for row in result["by_country"]}
    assert [row["country"] for row in result["by_country"]] == ["BZ", "KY", None]
    bz, ky, unknown = by_country["BZ"], by_country["KY"], by_country[None]
    assert (bz["cases"], bz["notified"], bz["removed"], bz["awaiting_removal"]) == (5, 4, 3, 1)
    # BZ to notice: 1, 2, 3, 4 h. Median halfway 2 h → 3 h; 90th at h = 2.7: 3 h + 0.7 h.
    assert bz["time_to_first_notice"] == times(2.5 * HOUR, 3.7 * HOUR, 4)
    # BZ to removal: 1, 3, 5 h. Median 3 h; 90th at h = 1.8: 3 h + 0.8 * 2 h.
    assert bz["time_to_removal"] == pytest.approx(times(3 * HOUR, 4.6 * HOUR, 3))
    assert (ky["cases"], ky["notified"], ky["removed"], ky["awaiting_removal"]) == (3, 2, 2, 1)
    # KY to notice: 0.5 h, 1.5 h. Median 1 h; 90th: 0.5 h + 0.9 * 1 h.
    assert ky["time_to_first_notice"] == pytest.approx(times(1 * HOUR, 1.4 * HOUR, 2))
    # KY to removal: 24 h, 48 h. Median 36 h; 90th: 24 h + 0.9 * 24 h.
    assert ky["time_to_removal"] == pytest.approx(times(36 * HOUR, 45.6 * HOUR, 2))
    # A group with no notified case has counts and nulls, not zeros.
    assert unknown["cases"] == 1
    assert unknown["time_to_first_notice"] == times(None, None, 0)
    assert unknown["time_to_removal"] == times(None, None, 0)


def test_providers_are_grouped_by_organisation_then_network(engine: Engine) -> None:
    build(engine)
    result = stats(engine, since=SINCE).to_json()
    rows = result["times"]["by_provider"]
    assert [(row["provider"], row["cases"]) for row in rows] == [
        (BZ_HOST, 5), (KY_NET, 2), (None, 2),
    ]  # fmt: skip
    # Only providers with at least three verified removals are ranked by default.
    assert [row["provider"] for row in result["slowest_providers"]] == [BZ_HOST]
    ranked = stats(engine, since=SINCE, ranking=SlowestRanking(limit=5, min_removals=2))
    slowest = [(g.name, g.to_removal.median_seconds) for g in ranked.slowest_providers]
    assert slowest == [(KY_NET, 36 * HOUR), (BZ_HOST, 3 * HOUR)]


def test_reappearance_rate_counts_cases_that_came_back_over_cases_removed(engine: Engine) -> None:
    build(engine)
    assert stats(engine, since=SINCE).to_json()["reappearance"] == {
        "removed": 5,
        "reappeared": 2,
        "rate": 2 / 5,
    }


def test_without_since_every_case_and_notice_counts(engine: Engine) -> None:
    build(engine)
    result = stats(engine).to_json()
    assert result["period"]["since"] is None
    assert (result["cases"]["total"], result["notices"]["total"]) == (10, 7)
    # The old case adds 10 h to each list: to notice 1800 … 14400, 36000 (seven values).
    # Median: the 4th (7200). 90th at h = 6 * 0.9 = 5.4: 14400 + 0.4 * (36000 - 14400).
    assert result["times"]["overall"]["time_to_first_notice"] == pytest.approx(
        times(7200.0, 14400 + 0.4 * (36000 - 14400), 7)
    )
    assert result["reappearance"] == {"removed": 6, "reappeared": 2, "rate": 2 / 6}


def test_an_empty_database_gives_zeros_and_nulls(engine: Engine) -> None:
    result = json.loads(json.dumps(stats(engine).to_json()))
    assert result["cases"]["total"] == 0
    assert set(result["cases"]["by_state"].values()) == {0}
    assert result["notices"]["by_kind"] == [] and result["notices"]["by_recipient"] == []
    assert result["times"]["overall"]["time_to_removal"] == times(None, None, 0)
    assert result["times"]["by_country"] == [] and result["slowest_providers"] == []
    assert result["reappearance"] == {"removed": 0, "reappeared": 0, "rate": None}
