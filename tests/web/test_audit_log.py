"""The hash-chained audit log: tampering is found and named; concurrent appends stay a chain."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from registry.audit import AuditAction, record, verify_chain
from registry.audit import append as append_own
from registry.db import unit_of_work
from settings import get_settings
from takedown.cli import app

runner = CliRunner()


def append(engine: Engine, count: int, actor: str = "ana") -> None:
    for number in range(count):
        with unit_of_work(engine) as session:
            record(
                session,
                actor=actor,
                action=AuditAction.DOWNLOAD,
                subject=f"TD-{number:06d}",
                detail={"what": "evidence_bundle", "n": number, "note": "ünïcode ✓"},
            )


def verify_cli(monkeypatch: pytest.MonkeyPatch, database_url: str) -> tuple[int, str, str]:
    monkeypatch.setenv("TAKEDOWN_DATABASE_URL", database_url)
    get_settings.cache_clear()  # appending read the settings before the URL was set
    result = runner.invoke(app, ["audit", "verify"])
    return result.exit_code, result.stdout, result.stderr


def test_an_untouched_log_verifies(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    append(engine, 5)
    with unit_of_work(engine) as session:
        report = verify_chain(session)
    assert report.ok and report.entries == 5
    code, out, _ = verify_cli(monkeypatch, database_url)
    assert code == 0 and out.startswith("OK: 5 entries")


def test_an_edited_entry_is_named(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    append(engine, 5)
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE id = 3"))
    code, _, err = verify_cli(monkeypatch, database_url)
    assert code == 1
    assert "entry 3: edited" in err
    assert err.count("FAILED") == 1


def test_a_deleted_entry_is_named_by_its_successor(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    append(engine, 5)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE id = 3"))
    code, _, err = verify_cli(monkeypatch, database_url)
    assert code == 1
    assert "entry 4: an entry before it was deleted" in err


def test_reordered_entries_are_named(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    append(engine, 5)
    # Swap the positions of entries 2 and 3, keeping each row's contents and hashes intact.
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_log SET id = 1000 WHERE id = 2"))
        connection.execute(text("UPDATE audit_log SET id = 2 WHERE id = 3"))
        connection.execute(text("UPDATE audit_log SET id = 3 WHERE id = 1000"))
    code, _, err = verify_cli(monkeypatch, database_url)
    assert code == 1
    assert "entry 2: reordered" in err


def test_concurrent_writers_build_one_unbroken_chain(engine: Engine) -> None:
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            append(engine, 8, actor=name)
        except BaseException as exc:  # reported below, so a failure is not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    with unit_of_work(engine) as session:
        report = verify_chain(session)
    assert report.ok, report.breaks
    assert report.entries == 32


def test_entries_committed_together_chain_in_order(engine: Engine) -> None:
    # Downloads' entries from many threads go in together (group commit), each chained to the
    # one before it in the same transaction.
    errors: list[BaseException] = []

    def downloader(name: str) -> None:
        try:
            for n in range(10):
                append_own(engine, actor=name, action=AuditAction.DOWNLOAD, subject=f"TD-{n}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=downloader, args=(f"d{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    with unit_of_work(engine) as session:
        report = verify_chain(session)
    assert report.ok, report.breaks
    assert report.entries == 80
