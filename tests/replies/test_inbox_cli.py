"""``takedown inbox``: classify saved messages storing nothing, read a Maildir inbox through the
flow (each message stored once however often it is read), and list what came back."""

from __future__ import annotations

import json
import mailbox
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from registry.base import utcnow
from registry.db import engine_for, unit_of_work
from registry.replies.service import take_in
from takedown.cli import app
from tests.replies.conftest import MAIL, sample

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_classify_prints_one_object_per_file_and_stores_nothing(tmp_path: Path) -> None:
    files = [MAIL / n for n in ("gmail_permanent.eml", "autoreply_ticket.eml", "unmatched.eml")]
    code, out, err = invoke("inbox", "classify", "--json", *map(str, files))
    assert code == 0, err
    found = json.loads(out)
    assert [r["file"] for r in found] == [str(f) for f in files]
    bounce, ack, lost = found
    assert bounce["class"] == "bounce_permanent"
    assert bounce["failed_addresses"] == ["abuse@closed-shop.example"]
    assert ack["class"] == "auto_ack" and ack["ticket"] == "2026031610000123"
    assert ack["case"] == "TD-000042"
    assert lost["class"] == "reply" and lost["case"] is None
    assert {"file", "class", "failed_addresses", "ticket", "case"} <= set(lost)
    assert not (tmp_path / "takedown.db").exists()


def test_fetch_without_an_inbox_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = invoke("inbox", "fetch")
    assert code == 2 and out == ""
    assert "TAKEDOWN_INBOX_URL" in err and len(err.strip().splitlines()) == 1


def test_a_maildir_inbox_is_read_once_and_listed(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path, prefect_harness: None
) -> None:
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    box.add(sample("unmatched.eml"))
    box.add(sample("autoreply_ticket.eml"))
    monkeypatch.setenv("TAKEDOWN_DATABASE_URL", database_url)
    monkeypatch.setenv("TAKEDOWN_INBOX_URL", f"maildir://{tmp_path / 'Maildir'}")

    code, out, err = invoke("inbox", "fetch", "--json")
    assert code == 0, err
    first = json.loads(out)
    assert first["stored"] == 2 and first["unmatched"] == 2 and first["needs_analyst"] == 2

    # Read again: nothing waits. The same message delivered a second time is kept once.
    code, out, _ = invoke("inbox", "fetch", "--json")
    assert json.loads(out)["fetched"] == 0
    shutil.copy(MAIL / "unmatched.eml", tmp_path / "Maildir" / "new" / "again.eml")
    code, out, _ = invoke("inbox", "fetch", "--json")
    again = json.loads(out)
    assert again["fetched"] == 1 and again["duplicates"] == 1 and again["stored"] == 0

    code, out, err = invoke("inbox", "--json")
    assert code == 0, err
    listed = json.loads(out)
    assert sorted(m["class"] for m in listed) == ["auto_ack", "reply"]
    # No case here to match them to: both wait for an analyst.
    code, out, _ = invoke("inbox", "--queue", "--json")
    assert len(json.loads(out)) == 2
    code, out, _ = invoke("inbox")
    assert "auto_ack" in out and "[analyst]" in out


def case_taken_in(folder: Path, url: str) -> int:
    """The number of the case ``takedown intake`` opens for one confirmed report of ``url``."""
    reports = folder / "reports.csv"
    reports.write_text(f"report_id,url,confirmed_at,category\nr1,{url},2026-11-20T10:00:00Z,A\n")
    code, _, err = invoke("intake", str(reports), "--json")
    assert code == 0, err
    code, out, _ = invoke("cases", "--json")
    [case_id] = [case["id"] for case in json.loads(out) if case["url"] == url]
    return int(case_id)


def test_case_show_gives_the_ticket_and_the_correspondence(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path
) -> None:
    monkeypatch.setenv("TAKEDOWN_DATABASE_URL", database_url)
    case_id = case_taken_in(tmp_path, "http://quickhost.example/a/b.jpg")
    reference = f"TD-{case_id:06d}"
    engine = engine_for(database_url)
    try:
        with unit_of_work(engine) as session:
            take_in(
                session,
                [
                    sample(
                        "autoreply_ticket.eml",
                        **{
                            "In-Reply-To: <notice-17__TD-000042@hotline__example>\n": "",
                            "References: <notice-17__TD-000042@hotline__example>\n": "",
                            "TD-000042": reference,
                        },
                    )
                ],
                mailbox="test",
                rerouting=None,
                now=utcnow(),
            )
    finally:
        engine.dispose()

    code, out, err = invoke("case", "show", str(case_id), "--json")
    assert code == 0, err
    detail = json.loads(out)
    assert detail["ticket"] == "2026031610000123"
    [message] = detail["correspondence"]
    assert message["direction"] == "received" and "auto_ack" in message["what"]
    assert reference in message["subject"]
    code, out, _ = invoke("case", "show", str(case_id))
    assert "host ticket 2026031610000123" in out
    assert "<- " in out and "auto_ack" in out


def test_an_analyst_marks_a_flagged_case_and_a_queued_message_handled(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path
) -> None:
    monkeypatch.setenv("TAKEDOWN_DATABASE_URL", database_url)
    case_id = case_taken_in(tmp_path, "http://quickhost.example/handled/1.jpg")
    reference = f"TD-{case_id:06d}"
    engine = engine_for(database_url)
    try:
        with unit_of_work(engine) as session:
            take_in(
                session,
                [
                    # A person's reply quoting the case: flags the case, queues the message.
                    sample("reply_removed.eml", **{"TD-000042": reference}),
                    # A message about no case at all: queued on its own.
                    sample("unmatched.eml", **{"Message-ID: <": "Message-ID: <handled-"}),
                ],
                mailbox="test",
                rerouting=None,
                now=utcnow(),
            )
    finally:
        engine.dispose()
    code, out, _ = invoke("inbox", "--queue", "--json")
    queue = json.loads(out)
    [about_case] = [m for m in queue if m["case"] == reference]
    [lost] = [m for m in queue if m["case"] is None and m["subject"] != about_case["subject"]][:1]

    # A note is required; nothing changes without one.
    code, out, err = invoke("case", "handled", str(case_id), "--note", "  ")
    assert code == 2 and out == "" and "reason" in err.lower()
    code, out, err = invoke("case", "handled", str(case_id), "--note", "asked the host again")
    assert code == 0, err
    assert f"{reference} handled and 1 queued message(s)" in out
    code, out, _ = invoke("case", "show", str(case_id), "--json")
    detail = json.loads(out)
    assert detail["analyst_reason"] is None
    assert any(e["reason"] == "asked the host again" for e in detail["events"])
    # Handled once: a second time is an error that says so.
    code, out, err = invoke("case", "handled", str(case_id), "--note", "again")
    assert code == 2 and "does not need an analyst" in err

    code, out, err = invoke("inbox", "handled", str(lost["id"]), "--note", "spam", "--by", "ana")
    assert code == 0, err
    assert out.strip() == f"message {lost['id']} handled"
    code, out, _ = invoke("inbox", "--queue", "--json")
    assert [m["id"] for m in json.loads(out)] == [
        m["id"] for m in queue if m["id"] not in (about_case["id"], lost["id"])
    ]
    code, out, err = invoke("inbox", "handled", "999999", "--note", "x")
    assert code == 2 and "no received message 999999" in err
