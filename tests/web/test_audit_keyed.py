"""The keyed, anchored audit chain: rewriting, deleting or truncating the log is found even by
someone who can write the whole database (and re-hash it with the project's own code) but holds
neither the audit key nor the signing key."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text, update
from typer.testing import CliRunner

from records.signing import new_private_key
from registry.audit import AuditAction, entry_hash, new_audit_key, record
from registry.db import unit_of_work
from registry.models import AuditEntry
from settings import get_settings
from takedown.cli import app

runner = CliRunner()


def use_keys(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path, **keys: str
) -> Path:
    monkeypatch.setenv("TAKEDOWN_DATABASE_URL", database_url)
    checkpoints = tmp_path / "anchors" / "audit-checkpoints.jsonl"
    monkeypatch.setenv("TAKEDOWN_AUDIT_CHECKPOINT_FILE", str(checkpoints))
    for name, value in keys.items():
        monkeypatch.setenv(f"TAKEDOWN_{name.upper()}", value)
    get_settings.cache_clear()
    return checkpoints


def append(engine: Engine, count: int, actor: str = "ana") -> None:
    for number in range(count):
        with unit_of_work(engine) as session:
            record(
                session,
                actor=actor,
                action=AuditAction.DOWNLOAD,
                subject=f"TD-{number:06d}",
                detail={"what": "evidence_bundle", "n": number},
            )


def rehash_from(engine: Engine, first_id: int) -> None:
    """What an attacker without the key can do: recompute every plain hash from ``first_id``."""
    with engine.begin() as connection:
        rows = connection.execute(
            select(AuditEntry.__table__).order_by(AuditEntry.id)  # type: ignore[arg-type]
        ).all()
        prev = None
        for row in rows:
            if row.id >= first_id:
                fields = {
                    "at": row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC),
                    "actor": row.actor,
                    "action": row.action,
                    "subject": row.subject,
                    "detail": row.detail,
                    "prev_hash": prev or "0" * 64,
                }
                new_hash = entry_hash(**fields)
                connection.execute(
                    update(AuditEntry.__table__)  # type: ignore[arg-type]
                    .where(AuditEntry.__table__.c.id == row.id)  # type: ignore[attr-defined]
                    .values(prev_hash=fields["prev_hash"], entry_hash=new_hash)
                )
                prev = new_hash
            else:
                prev = row.entry_hash


def verify(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["audit", "verify", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> Path:
    return use_keys(
        monkeypatch,
        database_url,
        tmp_path,
        audit_key=new_audit_key(),
        signing_key=new_private_key(),
    )


def test_a_keyed_log_verifies_and_is_checkpointed(engine: Engine, keyed: Path) -> None:
    append(engine, 5)
    with unit_of_work(engine) as session:
        macs = list(session.scalars(select(AuditEntry.entry_mac)))
    assert len(macs) == 5 and all(mac and len(mac) == 64 for mac in macs)
    code, out, err = verify()
    assert code == 0, err
    assert out.startswith("OK: 5 entries") and "checkpoint written: entry 5" in out
    line = json.loads(keyed.read_text().splitlines()[-1])
    assert line["entries"] == 5 and line["last_id"] == 5 and line["signature"]
    append(engine, 2)
    code, out, _ = verify()
    assert code == 0 and "matches 1 checkpoint(s)" in out
    assert len(keyed.read_text().splitlines()) == 2


def test_an_edited_entry_rehashed_without_the_key_is_reported(engine: Engine, keyed: Path) -> None:
    append(engine, 5)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_log SET action = 'sign_in', subject = 'user:ana' WHERE id = 3")
        )
    rehash_from(engine, 3)
    code, _, err = verify("--no-checkpoint")
    assert code == 1
    assert "entries 3-5: rewritten: its MAC does not match" in err
    assert err.count("FAILED") == 1


def test_a_deleted_entry_rehashed_without_the_key_is_reported(engine: Engine, keyed: Path) -> None:
    append(engine, 5)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE id = 3"))
    rehash_from(engine, 4)
    code, _, err = verify()
    assert code == 1 and "entries 4-5: rewritten" in err


def test_a_truncated_log_is_reported_by_its_checkpoint(engine: Engine, keyed: Path) -> None:
    append(engine, 5)
    assert verify()[0] == 0  # checkpoint at entry 5
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE id >= 4"))
    code, _, err = verify()
    assert code == 1
    assert "truncated: entry 5, the newest of 5 entries at the checkpoint of" in err
    assert len(keyed.read_text().splitlines()) == 1  # a broken log is not checkpointed


def test_macs_stripped_and_the_log_rehashed_are_reported_by_the_checkpoint(
    engine: Engine, keyed: Path
) -> None:
    append(engine, 5)
    assert verify()[0] == 0
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_log SET entry_mac = NULL"))
        connection.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE id = 2"))
    rehash_from(engine, 2)
    code, _, err = verify()
    assert code == 1 and "rewritten: entry 5 is not what the checkpoint of" in err


def test_a_forged_checkpoint_line_is_reported(engine: Engine, keyed: Path) -> None:
    append(engine, 3)
    assert verify()[0] == 0
    line = json.loads(keyed.read_text())
    line["entries"] = 2
    keyed.write_text(json.dumps(line) + "\n")
    code, _, err = verify()
    assert code == 1 and "checkpoint line 1: its signature does not match" in err


def test_entries_from_before_the_key_are_checked_by_the_old_rule(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_keys(monkeypatch, database_url, tmp_path)
    append(engine, 3)  # no key yet
    key = new_audit_key()
    use_keys(monkeypatch, database_url, tmp_path, audit_key=key)
    append(engine, 2)
    code, out, err = verify()
    assert code == 0, err
    assert out.startswith("OK: 5 entries")
    assert "3 entries before entry 4 predate the audit key: checked by their hashes only" in err
    # An entry written afterwards by a process without the key is a break.
    monkeypatch.delenv("TAKEDOWN_AUDIT_KEY")
    get_settings.cache_clear()
    append(engine, 1)
    use_keys(monkeypatch, database_url, tmp_path, audit_key=key)
    code, _, err = verify()
    assert code == 1 and "entry 6: its MAC is missing" in err


def test_another_audit_key_does_not_verify(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_keys(monkeypatch, database_url, tmp_path, audit_key=new_audit_key())
    append(engine, 2)
    use_keys(monkeypatch, database_url, tmp_path, audit_key=new_audit_key())
    code, _, err = verify()
    assert code == 1 and "entries 1-2: rewritten" in err


def test_the_digest_flow_appends_a_checkpoint(
    engine: Engine, database_url: str, keyed: Path
) -> None:
    from flows.digest import checkpoint_audit_log

    append(engine, 4)
    summary = checkpoint_audit_log.fn(database_url)
    assert summary["ok"] and summary["checkpoint_written"]
    assert json.loads(keyed.read_text())["last_id"] == 4
