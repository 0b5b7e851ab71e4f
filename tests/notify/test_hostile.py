"""Registry data is hostile: a WHOIS/RDAP name or address with CR/LF, template syntax or 10,000
characters, stored in a resolution or a contact row, goes through notify and delivery without
adding a header, changing a template or growing without bound."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta

from sqlalchemy import Engine, select

from notices.transport.smtp import SmtpSettings, SmtpTimeouts, SmtpTransport
from registry.db import unit_of_work
from registry.delivery.batch import deliver_batch
from registry.delivery.outbox import DeliveryPolicy
from registry.models import Case, Notice
from tests.notify.conftest import NotifyRun
from tests.notify.seed import MONDAY, Hosting, traced_case
from tests.notify.slow_relay import RestartableRelay

INJECTED = "\r\nBcc: victim@evil.example\r\nX-Injected: yes\r\n\r\nforged body"
TEMPLATE = "{{ 7*7 }}{% for x in range(3) %}LOOP{% endfor %}{{ self.__class__ }}"
HUGE = "A" * 10_000
EXPECTED_HEADERS = {
    "From",
    "Reply-To",
    "To",
    "Date",
    "Message-ID",
    "Auto-Submitted",
    "Content-Language",
    "Subject",
    "MIME-Version",
    "Content-Type",
}


def test_hostile_registry_text_cannot_inject_or_template(
    engine: Engine, run_notify: NotifyRun
) -> None:
    hostile = Hosting(
        country="FR",
        network=f"Evil Net {TEMPLATE}{INJECTED}{HUGE}",
        host_emails=[
            f"abuse@host.example{INJECTED}",
            f"{HUGE}@host.example",
            f"abuse@{TEMPLATE}.example",
            "desk@host.example",
        ],
        registrar=f"Registrar {TEMPLATE}{INJECTED}",
        overrides={"host": [f"x{INJECTED}@host.example"]},
    )
    with unit_of_work(engine) as session:
        case_id = traced_case(session, "http://files.host.example/1.jpg", hostile)
    summary = run_notify()
    assert summary.notices == 1
    with unit_of_work(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None and case.needs_analyst
        # Each refused address is named (cut short, on one line) for the analyst.
        assert case.analyst_reason is not None and "\n" not in case.analyst_reason
        assert len(case.analyst_reason) <= 1000
        [notice] = session.scalars(select(Notice)).all()
        assert notice.recipient_email == "desk@host.example"
        assert notice.recipient_name is not None and len(notice.recipient_name) <= 255
        assert "\r" not in notice.recipient_name and "\n" not in notice.recipient_name
    relay = RestartableRelay().start()
    try:
        settings = SmtpSettings(host="127.0.0.1", port=relay.port)
        with SmtpTransport(settings, timeouts=SmtpTimeouts(2.0, 5.0)) as smtp:
            sent = deliver_batch(
                engine,
                smtp,
                worker="w",
                policy=DeliveryPolicy(lease=timedelta(minutes=1)),
                clock=lambda: MONDAY,
            )
        assert sent.sent == 1
        [mail] = relay.handler.received
    finally:
        relay.close()
    assert mail.rcpt_tos == ["desk@host.example"]
    head = mail.data.split(b"\r\n\r\n", 1)[0]
    assert b"victim" not in head and b"X-Injected" not in head
    message = email.message_from_bytes(mail.data, policy=email.policy.default)
    assert set(message.keys()) == EXPECTED_HEADERS
    assert message["To"] == "desk@host.example"
    for part in message.walk():
        assert not {"Bcc", "X-Injected"} & set(part.keys())
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    plain = text.get_content()
    lines = plain.splitlines()
    named = [line for line in lines if "Evil Net" in line]
    # The name is one line of text: its CR/LF became spaces, its template syntax is printed as
    # the characters it is and never run, and it is cut short.
    assert named and "{{ 7*7 }}{% for x in range(3) %}LOOP{% endfor %}" in plain
    assert not any(line.startswith(("Bcc:", "X-Injected:")) for line in lines)
    assert "LOOPLOOPLOOP" not in plain and HUGE[:300] not in plain
    assert "{{ 7*7 }}" in html.get_content()
    assert HUGE[:300] not in html.get_content() and len(mail.data) < 60_000
