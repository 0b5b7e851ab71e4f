"""A delivery worker in its own process, for the test that kills one mid-batch.

python -m tests.notify.deliver_worker DATABASE_URL SMTP_PORT NOW_ISO
"""

from __future__ import annotations

import sys
from datetime import datetime

from notices.transport.smtp import SmtpSettings, SmtpTimeouts, SmtpTransport
from registry.db import make_engine
from registry.delivery.batch import deliver_batch


def main(database_url: str, port: int, now: datetime) -> None:
    engine = make_engine(database_url)
    settings = SmtpSettings(host="127.0.0.1", port=port)
    try:
        with SmtpTransport(settings, timeouts=SmtpTimeouts(connect=2.0, command=5.0)) as smtp:
            deliver_batch(engine, smtp, worker="doomed", size=1000, clock=lambda: now)
    finally:
        engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), datetime.fromisoformat(sys.argv[3]))
