"""``takedown run`` against the example world: every URL leads to exactly the mails the rules
call for, in the right mailboxes and languages; every mail parses and its X-ARF validates; the
host notice held for the police goes out once they clear the case."""

from __future__ import annotations

import csv
from collections import Counter

import pytest
from sqlalchemy import select

from flows.deliver import deliver_flow
from flows.notify import notify_flow
from flows.run import takedown_flow
from registry.base import utcnow
from registry.db import make_engine, unit_of_work
from registry.models import Case
from registry.notifying.service import clear_case
from registry.status import CaseStatus
from sandbox.testing import running_sandbox
from settings import get_settings
from tests.notify.sandbox_mail import (
    as_expected,
    parsed,
    received_messages,
    xarf_problems,
    xarf_reports,
)
from tests.notify.world_notices import expected_mails

pytestmark = pytest.mark.network


@pytest.mark.usefixtures("prefect_harness")
def test_a_run_sends_exactly_the_notices_the_rules_call_for(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_sandbox() as sandbox:
        for name, value in sandbox.env.items():
            if not name.startswith("TAKEDOWN_SANDBOX_"):
                monkeypatch.setenv(name, value)
        monkeypatch.setenv("TAKEDOWN_DATABASE_URL", database_url)
        get_settings.cache_clear()
        expected, held = expected_mails(sandbox.world, sandbox.urls)
        assert held and any(m.xarf for m in expected) and any(not m.xarf for m in expected)

        path = sandbox.env["TAKEDOWN_SANDBOX_REPORTS"]
        # A file path, or (as a deployment passes them) the reports themselves.
        if database_url.startswith("sqlite"):
            run = takedown_flow(path)
        else:
            with open(path, newline="", encoding="utf-8") as handle:
                run = takedown_flow(list(csv.DictReader(handle)))

        assert run["intake"]["cases_opened"] == len(sandbox.urls)
        assert run["deliver"]["sent"] == len(expected)
        messages = received_messages(sandbox)
        got = Counter(as_expected(box, m) for box, m in messages)
        assert got == Counter(expected)
        from_address = sandbox.world.hotline.from_address
        for _, message in messages:
            mail = parsed(message)
            assert message["mail_from"] == from_address
            assert mail["From"].addresses[0].addr_spec == from_address
            reports = xarf_reports(mail)
            assert len(reports) == (len(message["urls"]) if reports else 0)
            for report in reports:
                assert xarf_problems(report) == []

        # The police clear the held cases: their host notices go out, and nothing else does.
        engine = make_engine(database_url)
        try:
            with unit_of_work(engine) as session:
                waiting = session.scalars(select(Case.id).where(Case.status == CaseStatus.HELD))
                for case_id in waiting.all():
                    clear_case(session, case_id, by="liaison", now=utcnow())
        finally:
            engine.dispose()
        assert notify_flow()["by_kind"] == {"host_takedown": 1}
        assert deliver_flow()["sent"] == 1
        after = received_messages(sandbox)
        new = [m for m in after if m not in messages]
        assert len(new) == 1
        box, message = new[0]
        assert frozenset(message["urls"]) == frozenset(held)
        assert as_expected(box, message).xarf
        ids = Counter(m["message_id"] for _, m in after)
        assert max(ids.values()) == 1
