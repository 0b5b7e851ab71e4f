"""After a real run against the sandbox, the figures agree with a count made by hand from the
world and from what the sandbox's mailboxes received, not from the database."""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlsplit

import pytest

from flows.run import takedown_flow
from registry.db import make_engine, unit_of_work
from registry.reporting.stats import compute_stats
from sandbox.testing import running_sandbox
from settings import get_settings
from tests.notify.sandbox_mail import received_messages
from tests.notify.world_notices import expected_mails, serving_network

pytestmark = pytest.mark.network


@pytest.mark.usefixtures("prefect_harness")
def test_figures_after_a_sandbox_run_match_a_hand_count(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_sandbox() as sandbox:
        for name, value in sandbox.env.items():
            if not name.startswith("TAKEDOWN_SANDBOX_"):
                monkeypatch.setenv(name, value)
        monkeypatch.setenv("TAKEDOWN_DATABASE_URL", database_url)
        get_settings.cache_clear()
        takedown_flow(sandbox.env["TAKEDOWN_SANDBOX_REPORTS"])

        # The hand count: from the world model and the mailboxes.
        world, urls = sandbox.world, sandbox.urls
        networks = {url: serving_network(world, urlsplit(url).hostname or "") for url in urls}
        untraceable = [url for url, network in networks.items() if network is None]
        _, held = expected_mails(world, urls)
        held_host_desks = {networks[url].abuse_email for url in held}  # type: ignore[union-attr]
        messages = received_messages(sandbox)
        per_mailbox = Counter(mailbox for mailbox, _ in messages)

        engine = make_engine(database_url)
        try:
            with unit_of_work(engine) as session:
                figures = compute_stats(session).to_json()
        finally:
            engine.dispose()

    assert untraceable and held  # the world has both, or this test proves little
    states = figures["cases"]["by_state"]
    assert figures["cases"]["total"] == len(urls)
    assert states["trace_failed"] == len(untraceable)
    assert states["held"] == len(held)
    assert states["notified"] == len(urls) - len(untraceable) - len(held)
    assert sum(states.values()) == len(urls)

    notices = figures["notices"]
    assert notices["by_status"]["sent"] == len(messages)
    assert sum(kind["sent"] for kind in notices["by_kind"]) == len(messages)
    # One held host notice per host desk of the held URLs, grouped, waiting for the police.
    assert notices["by_status"]["held"] == len(held_host_desks)
    assert notices["total"] == len(messages) + len(held_host_desks)
    sent_to: Counter[str] = Counter()
    for recipient in notices["by_recipient"]:
        sent_to[recipient["email"]] += recipient["sent"]
    assert +sent_to == per_mailbox

    # Every case had a notice sent (the held one's police referral, the untraceable one's to its
    # registrar); nothing removed yet.
    overall = figures["times"]["overall"]
    assert overall["notified"] == len(urls)
    assert overall["time_to_first_notice"]["count"] == len(urls)
    assert overall["removed"] == 0 and overall["time_to_removal"]["median_seconds"] is None
