"""The commands: one readable line for every refusal, the --json shapes, and notify + deliver
writing .eml files end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from registry.db import make_engine, unit_of_work
from takedown.cli import app
from tests.notices.samples import EXAMPLE_DIRECTORY
from tests.notify.seed import Hosting, traced_case

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def db_env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    monkeypatch.setenv("TAKEDOWN_DATABASE_URL", database_url)
    return database_url


def _seed(database_url: str, count: int = 1) -> list[int]:
    engine = make_engine(database_url)
    try:
        with unit_of_work(engine) as session:
            return [
                traced_case(
                    session,
                    f"http://files.host{n}.example/{n}.jpg",
                    Hosting(country="FR", host_emails=[f"abuse@host{n}.example"]),
                )
                for n in range(count)
            ]
    finally:
        engine.dispose()


def _always_open_directory(path: Path) -> Path:
    document = yaml.safe_load(EXAMPLE_DIRECTORY.read_text(encoding="utf-8"))
    document["sending"] = {"timezone": "UTC", "window": "00:00-24:00", "quiet_days": []}
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_notify_and_run_refuse_without_a_directory(db_env: str, tmp_path: Path) -> None:
    code, out, err = invoke("notify")
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [err.strip()]
    assert "TAKEDOWN_DIRECTORY is not set" in err
    reports = tmp_path / "reports.csv"
    reports.write_text("report_id,url,confirmed_at,category\n")
    code, _, err = invoke("run", str(reports))
    assert code == 2 and "TAKEDOWN_DIRECTORY is not set" in err


def test_case_clear_refuses_a_case_that_is_not_held(db_env: str) -> None:
    [case_id] = _seed(db_env)
    code, _, err = invoke("case", "clear", str(case_id), "--by", "DC Smith")
    assert code == 2 and "is not held for police clearance" in err
    code, _, err = invoke("case", "clear", "999999")
    assert code == 2 and "there is no case 999999" in err


def test_an_empty_outbox_reports_zero_counts(db_env: str) -> None:
    code, out, _ = invoke("outbox", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["notices"] == [] and set(report["counts"].values()) == {0}
    assert set(report["counts"]) == {"pending", "held", "sending", "sent", "failed", "cancelled"}


@pytest.mark.usefixtures("prefect_harness")
def test_notify_then_deliver_writes_eml_files(
    db_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(db_env, 2)
    monkeypatch.setenv("TAKEDOWN_DIRECTORY", str(_always_open_directory(tmp_path / "dir.yaml")))
    monkeypatch.setenv("TAKEDOWN_OUTBOX_DIR", str(tmp_path / "outbox"))
    code, out, err = invoke("notify", "--json")
    assert code == 0, err
    assert json.loads(out)["by_kind"] == {"host_takedown": 2}
    code, out, _ = invoke("outbox", "--json")
    queued = json.loads(out)
    assert queued["counts"]["pending"] == 2
    assert {n["to"] for n in queued["notices"]} == {"abuse@host0.example", "abuse@host1.example"}
    code, out, err = invoke("deliver")
    assert code == 0, err
    assert out.startswith("2 sent")
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 2
    code, out, _ = invoke("outbox", "--json")
    assert json.loads(out)["counts"]["sent"] == 2 and json.loads(out)["notices"] == []
