"""Killing a delivery worker mid-batch and running delivery again sends no notice twice, and
loses none except the one whose outcome it cannot know, which is marked so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from notices.transport.smtp import SmtpSettings, SmtpTimeouts, SmtpTransport
from registry.db import unit_of_work
from registry.delivery.batch import deliver_batch
from registry.delivery.outbox import OUTCOME_UNKNOWN, DeliveryPolicy
from registry.models import Notice
from registry.status import NoticeStatus
from tests.notify.conftest import NotifyRun
from tests.notify.outbox_seed import queue_notices
from tests.notify.seed import MONDAY
from tests.notify.slow_relay import RestartableRelay

REPO = Path(__file__).resolve().parents[2]
NOTICES = 24
KILL_AFTER = 6
WAIT_SECONDS = 60.0


def test_a_killed_worker_sends_nothing_twice(
    engine: Engine, database_url: str, run_notify: NotifyRun
) -> None:
    queue_notices(engine, run_notify, NOTICES)
    relay = RestartableRelay(delay=0.1).start()
    args = [sys.executable, "-m", "tests.notify.deliver_worker", database_url]
    args += [str(relay.port), MONDAY.isoformat()]
    worker = subprocess.Popen(
        args,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while len(relay.message_ids()) < KILL_AFTER and time.monotonic() < deadline:
            time.sleep(0.02)
        assert worker.poll() is None, "the worker finished before it could be killed"
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        received_before = len(relay.message_ids())
        assert KILL_AFTER <= received_before < NOTICES
        later = MONDAY + DeliveryPolicy().lease + timedelta(seconds=1)
        settings = SmtpSettings(host="127.0.0.1", port=relay.port)
        with SmtpTransport(settings, timeouts=SmtpTimeouts(2.0, 5.0)) as smtp:
            again = deliver_batch(engine, smtp, worker="survivor", size=1000, clock=lambda: later)
        assert again.unknown <= 1
        received = Counter(relay.message_ids())
        assert max(received.values()) == 1, "a notice was sent twice"
        with unit_of_work(engine) as session:
            notices = list(session.scalars(select(Notice)))
        for notice in notices:
            if notice.status is NoticeStatus.SENT:
                assert received[notice.message_id or ""] == 1
            else:
                # Only the notice in flight when the worker died; never resent.
                assert notice.status is NoticeStatus.FAILED
                assert notice.last_error == OUTCOME_UNKNOWN
                assert received[notice.message_id or ""] <= 1
        sent = sum(1 for n in notices if n.status is NoticeStatus.SENT)
        assert sent + again.unknown == NOTICES and len(notices) == NOTICES
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
        relay.close()
