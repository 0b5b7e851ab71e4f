"""The command line: the contract shapes of --json, and one readable line for every failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect
from typer.testing import CliRunner

from takedown.cli import app
from tests.support.postgres import TemporaryPostgres

HEADER = "report_id,url,confirmed_at,category,source\n"
runner = CliRunner()


@pytest.fixture
def db_env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    monkeypatch.setenv("TAKEDOWN_DATABASE_URL", database_url)
    return database_url


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_intake_cases_and_case_show_speak_the_contract(db_env: str, tmp_path: Path) -> None:
    reports = tmp_path / "reports.csv"
    reports.write_text(
        HEADER
        + "r1,http://Example.bz/a,2026-11-20T10:00:00Z,A,bz\n"
        + "r2,http://example.bz/a,2026-11-20T10:05:00Z,A,bz\n"
        + "r3,http://other.ky/b,2026-11-20T10:00:00Z,C,ky\n"
        + "r4,gopher://x.bz/,2026-11-20T10:00:00Z,A,bz\n"
    )
    code, out, _ = invoke("intake", str(reports), "--json")
    assert code == 0
    assert json.loads(out) == {
        "received": 4,
        "cases_opened": 2,
        "reports_attached": 1,
        "duplicates": 0,
        "rejected": [
            {
                "line": 5,
                "report_id": "r4",
                "error": "url: scheme 'gopher' is not allowed; only http and https URLs",
            }
        ],
    }
    code, out, _ = invoke("cases", "--json")
    assert code == 0
    listed = json.loads(out)
    assert [set(c) for c in listed] == [
        {"id", "url", "display_url", "status", "reports", "opened_at"}
    ] * 2
    assert listed[0]["url"] == "http://example.bz/a"
    assert listed[0]["display_url"] == "hxxp://example[.]bz/a"
    assert listed[0]["reports"] == ["r1", "r2"] and listed[0]["status"] == "new"
    code, out, _ = invoke("cases", "--status", "withdrawn", "--json")
    assert code == 0 and json.loads(out) == []

    code, out, _ = invoke("cases")
    assert code == 0 and "hxxp://example[.]bz/a" in out and "http://example.bz" not in out

    code, out, _ = invoke("case", "show", str(listed[1]["id"]), "--json")
    detail = json.loads(out)
    assert code == 0 and detail["reference"].startswith("TD-")
    assert [r["report_id"] for r in detail["reports"]] == ["r3"]
    assert detail["events"][0]["kind"] == "opened"


def test_human_intake_output_lists_rejections_with_lines(db_env: str, tmp_path: Path) -> None:
    reports = tmp_path / "r.csv"
    reports.write_text(HEADER + "r1,notaurl,2026-11-20T10:00:00Z,A,bz\n")
    code, out, _ = invoke("intake", str(reports))
    assert code == 0
    assert "1 received: 0 cases opened" in out and "line 2 (r1): url: not an http" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("case", "show", "999"), "there is no case 999"),
        (("intake", "missing.csv"), "No such file or directory"),
    ],
)
def test_failures_are_one_line_and_exit_non_zero(
    db_env: str, args: tuple[str, ...], message: str
) -> None:
    code, _out, err = invoke(*args)
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_an_unreadable_file_is_one_line(db_env: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    code, _, err = invoke("intake", str(empty))
    assert code == 2 and err == "error: file is empty\n"


def test_an_unmigrated_database_says_what_to_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TAKEDOWN_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    code, _, err = invoke("cases")
    assert code == 2 and "run 'takedown db upgrade' first" in err
    code, out, _ = invoke("db", "upgrade")
    assert code == 0 and "revision" in out
    code, out, _ = invoke("cases", "--json")
    assert code == 0 and json.loads(out) == []


def test_db_upgrade_refuses_a_database_that_is_not_utf8(
    monkeypatch: pytest.MonkeyPatch, postgres: TemporaryPostgres
) -> None:
    postgres.execute(
        "CREATE DATABASE ascii_only ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' "
        "TEMPLATE template0"
    )
    try:
        url = postgres.url_for("ascii_only")
        monkeypatch.setenv("TAKEDOWN_DATABASE_URL", url)
        code, _, err = invoke("db", "upgrade")
        assert code == 2
        assert "'ascii_only' is encoded SQL_ASCII, not UTF-8" in err
        assert "createdb --encoding UTF8 --template template0 ascii_only" in err
        # Refused before anything was made.
        engine = create_engine(url)
        try:
            assert not inspect(engine).get_table_names()
        finally:
            engine.dispose()
    finally:
        postgres.execute("DROP DATABASE ascii_only")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TAKEDOWN_DATABASE_URL": "nonsense://"}, "TAKEDOWN_DATABASE_URL"),
        (
            {"TAKEDOWN_DATABASE_URL": "postgresql+psycopg2://nobody@127.0.0.1:1/none"},
            "database error",
        ),
        ({"TAKEDOWN_PROBE_ALLOWED_NETWORKS": "not-a-network"}, "TAKEDOWN_PROBE_ALLOWED_NETWORKS"),
        ({"TAKEDOWN_WHOIS_SERVERS": "bz"}, "TAKEDOWN_WHOIS_SERVERS"),
    ],
)
def test_the_real_command_never_shows_a_traceback(
    env: dict[str, str], message: str, tmp_path: Path
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TAKEDOWN_")}
    completed = subprocess.run(
        [sys.executable, "-m", "takedown", "cases"],
        env=clean | env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode != 0
    assert message in completed.stderr
    assert "Traceback" not in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1, completed.stderr
