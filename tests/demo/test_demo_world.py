"""``takedown demo`` against the example world: every case ends where the world's behaviours
take it (prompt hosts removed and verified, the ignoring host escalated to its registrar and
police partner, the re-uploader reopened and told again, the mover traced again and its new
host told), as the engine's records and the sandbox's mailboxes and URLs both show."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from registry.db import make_engine
from registry.models import Case
from sandbox.testing import running_sandbox
from takedown.commands.demo import run_demo_in
from tests.demo.world_outcomes import Expected, expected_outcome
from urls.normalise import normalise_url

pytestmark = pytest.mark.network


def _holders(sandbox: Any) -> dict[str, str | None]:
    """Who serves each URL of the world before anything happened."""
    return {url.key: sandbox.state.original_holder_id(url) for url in sandbox.world.urls}


def _naming(messages: list[dict[str, Any]], url: str) -> int:
    return sum(1 for message in messages if url in message["urls"])


@pytest.mark.usefixtures("prefect_harness")
def test_the_demo_ends_every_case_where_the_world_takes_it(tmp_path: Path) -> None:
    lines: list[str] = []
    with running_sandbox() as sandbox:
        index = sandbox.call(lambda s: s.state.index)
        holders = sandbox.call(_holders)
        expected: dict[str, Expected] = {
            url.url(sandbox.ports.content): expected_outcome(index, url, holders[url.key])
            for url in sandbox.world.urls
        }
        summary = run_demo_in(sandbox, tmp_path, progress=lines.append)

        assert summary["settled"], lines
        assert len(lines) == summary["cycles"] + 1
        engine = make_engine(f"sqlite:///{tmp_path / 'takedown-demo.db'}")
        try:
            with engine.connect() as connection:
                cases = {c.url: c for c in connection.execute(select(Case)).all()}
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
            assert (case.notice_round > 0) is (want.reopened or want.moved_to is not None), where
            if want.reopened:
                assert state["reuploads"] >= 1 and state["removals"] >= 2, where
            if want.moved_to is not None:
                assert case.hosting_country == want.moved_to.country, where
                assert state["holder"] == want.moved_to.id, where
            if want.status == "removed":
                assert case.removal_verified_at is not None, where
            if want.status == "notified":
                assert case.needs_analyst, where
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
