"""``takedown demo`` against the example world: every case ends where the world's behaviours
take it (prompt hosts removed and verified, the ignoring host escalated to its registrar and
police partner, the re-uploader reopened and told again, the mover traced again and its new
host told), as the engine's records and the sandbox's mailboxes and URLs both show; and it
still does when one cycle stalls in real time, since the world and the engine read one clock."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from registry.db import make_engine
from registry.models import Case
from sandbox.outcomes import Expected, expected_outcomes
from sandbox.testing import ManualClock, running_sandbox
from takedown.commands.demo import Stall, run_demo_in
from takedown.demo.end import end_differences
from urls import normalise_url

pytestmark = pytest.mark.network

STALL = Stall(cycle=2, seconds=30.0)
"""Longer than the ladder's first step (15 s) and the re-upload (20 s), which on the wall clock
used to fire while no cycle ran. A minute's stall is ``takedown demo --stall-seconds 60``; it is
left out here to keep the suite's time down."""


def _naming(messages: list[dict[str, Any]], url: str) -> int:
    return sum(1 for message in messages if url in message["urls"])


@pytest.mark.usefixtures("prefect_harness")
def test_the_demo_ends_every_case_where_the_world_takes_it_even_after_a_stall(
    tmp_path: Path,
) -> None:
    lines: list[str] = []
    clock = ManualClock(start=float(int(time.time())))
    with running_sandbox(clock=clock, mail_dir=tmp_path / "mail") as sandbox:
        by_key = sandbox.call(lambda s: expected_outcomes(s.state))
        assert len(by_key) == len(sandbox.world.urls)
        expected: dict[str, Expected] = {
            url.url(sandbox.ports.content): by_key[url.key] for url in sandbox.world.urls
        }
        summary = run_demo_in(sandbox, tmp_path, clock, stall=STALL, progress=lines.append)

        assert summary["settled"], lines
        assert summary["differences"] == [], lines
        assert len(lines) == summary["cycles"] + 1
        assert summary["elapsed_seconds"] >= STALL.seconds
        assert summary["demo_seconds"] == 3 * summary["cycles"]
        engine = make_engine(f"sqlite:///{tmp_path / 'takedown-demo.db'}")
        try:
            with engine.connect() as connection:
                cases = {c.url: c for c in connection.execute(select(Case)).all()}
            # The check the demo exits 1 on names a case that ended otherwise.
            first = normalise_url(sandbox.urls[0]).url
            wrong = {first: Expected("held")}
            [difference] = end_differences(engine, wrong)
            assert difference.case == "TD-000001"
            assert difference.url == cases[first].display_url
            assert (difference.expected, difference.actual) == ("held", "removed")
        finally:
            engine.dispose()
        assert len(cases) == len(expected)
        for served, want in expected.items():
            case = cases[normalise_url(served).url]
            state = sandbox.url_state(served)
            where = f"{served}: {case.status} {state['state']}"
            assert str(case.status) == want.status, where
            assert state["state"] in want.url_states, where
            assert (case.escalation_level > 0) is want.escalated, where
            assert (case.notice_round > 0) is want.new_round, where
            if want.reopened:
                assert state["reuploads"] >= 1 and state["removals"] >= 2, where
            if want.moved_to is not None:
                assert case.hosting_country == want.moved_to.country, where
                assert state["holder"] == want.moved_to.id, where
            if want.status == "removed":
                assert case.removal_verified_at is not None, where
            assert case.needs_analyst is want.needs_analyst, where
            for address, least in want.told.items():
                assert _naming(sandbox.mailbox(address), served) >= least, (where, address)
            for address in want.never_told:
                assert _naming(sandbox.mailbox(address), served) == 0, (where, address)

        # A host that acknowledges with a ticket has it quoted in every reminder it gets.
        for network in sandbox.world.networks:
            acks = [r for r in network.replies if r.kind == "auto_ack"]
            if not acks or network.behaviour.action != "ignore":
                continue
            mail = sandbox.mailbox(network.abuse_email)
            reminders = [m for m in mail if "Reminder" in m["subject"]]
            assert reminders, network.id
            quoted = f"Your ticket number: {acks[0].ticket_prefix}{network.asn}"
            assert all(quoted in m["raw"] for m in reminders), network.id

    assert summary["removals_verified"] == sum(
        1 for want in expected.values() if want.status == "removed"
    )
    assert summary["median_time_to_removal_seconds"] is not None
    # What is left to look at: every delivered copy as a file, and settings for takedown.
    assert len(list((tmp_path / "mail").glob("*.eml"))) == sum(summary["mailboxes"].values())
    env = (tmp_path / ".env").read_text(encoding="utf-8")
    assert "TAKEDOWN_DATABASE_URL=sqlite:///takedown-demo.db\n" in env
    assert "TAKEDOWN_SIGNING_KEY=" in env
    assert (tmp_path / ".env").stat().st_mode & 0o077 == 0
