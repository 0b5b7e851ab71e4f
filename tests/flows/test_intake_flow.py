"""The intake flow under Prefect: same contract as the CLI, plus an artifact for the run."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.intake import intake_flow

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_intake_flow_opens_cases_and_reports_rejections(database_url: str, tmp_path: Path) -> None:
    reports = tmp_path / "reports.csv"
    reports.write_text(
        "report_id,url,confirmed_at,category,source\n"
        "f1,http://flow.example/a,2026-11-20T10:00:00Z,A,bz\n"
        "f2,http://flow.example/a,2026-11-20T10:01:00Z,A,bz\n"
        "f3,mailto:x@flow.example,2026-11-20T10:00:00Z,A,bz\n"
    )
    summary = intake_flow(str(reports), database_url)
    assert summary["received"] == 3
    assert (summary["cases_opened"], summary["reports_attached"]) == (1, 1)
    assert [r["line"] for r in summary["rejected"]] == [4]
    assert len(set(summary["case_ids"])) == 1
