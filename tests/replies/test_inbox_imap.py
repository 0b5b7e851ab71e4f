"""The inbox over a real IMAP server: Debian's Dovecot on loopback, TLS only, started for the
test. A bounce read over IMAP re-routes its notice; reading again stores nothing twice; a
message already stored from a Maildir copy is recognised when IMAP hands it out."""

from __future__ import annotations

import mailbox
import ssl
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select

from flows.inbox import read_inbox
from notices.directory import Directory
from notices.mail.message import NoticeComposer
from notices.transport.mailbox import STORED_KEYWORD, ImapInbox, inbox_from_url
from registry.db import unit_of_work
from registry.models import DeadAddress, InboundMail, Notice
from registry.replies.service import take_in
from registry.status import NoticeStatus
from tests.notify.seed import Hosting
from tests.replies.conftest import sample
from tests.replies.test_replies_db import DEAD, NEXT, _notified_case, _reference
from tests.support import dovecot

pytestmark = [
    pytest.mark.network,
    pytest.mark.skipif(
        not dovecot.installed(),
        reason="Dovecot is not installed (Debian package dovecot-imapd; scripts/test.sh "
        "installs it)",
    ),
]


@pytest.fixture(scope="module")
def imap_server() -> Iterator[dovecot.TemporaryDovecot]:
    server = dovecot.TemporaryDovecot().start()
    try:
        yield server
    finally:
        server.stop()


def _deliver(server: dovecot.TemporaryDovecot, raw: bytes) -> None:
    box = mailbox.Maildir(server.maildir, create=False)
    key = box.add(raw)
    server.hand_over(server.maildir / "new" / key)


def _open(server: dovecot.TemporaryDovecot) -> ImapInbox:
    context = ssl.create_default_context(cafile=str(server.cert))
    inbox = inbox_from_url(server.url, ssl_context=context)
    assert isinstance(inbox, ImapInbox)
    return inbox


def test_a_bounce_read_over_imap_reroutes_and_is_stored_once(
    imap_server: dovecot.TemporaryDovecot,
    engine: Engine,
    database_url: str,
    directory: Directory,
    composer: NoticeComposer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.notices.samples import EXAMPLE_DIRECTORY

    monkeypatch.setenv("TAKEDOWN_DIRECTORY", str(EXAMPLE_DIRECTORY))
    case_id, notice = _notified_case(
        engine,
        directory,
        composer,
        "http://files.host.example/imap.jpg",
        Hosting(host_emails=[DEAD, NEXT]),
    )
    bounce = sample(
        "gmail_permanent.eml",
        **{
            "abuse@closed-shop__example": DEAD,
            "<notice-40__TD-000046@hotline__example>": str(notice.message_id),
            "TD-000046": _reference(case_id),
        },
    ).replace(b"abcdSMTPIN", f"{database_url.split(':')[0]}{case_id}".encode())
    reply = sample("unmatched.eml").replace(b"<q-1@", f"<q-{case_id}-{database_url[:6]}@".encode())
    # The reply was stored earlier from a Maildir copy of the same message.
    with unit_of_work(engine) as session:
        take_in(session, [reply], mailbox="maildir:copy", rerouting=None, now=notice.created_at)
    _deliver(imap_server, bounce)
    _deliver(imap_server, reply)

    inbox = _open(imap_server)
    try:
        batches = read_inbox(inbox, database_url=database_url)
        assert inbox.fetch(10) == []  # marked stored with the keyword, not \\Seen
    finally:
        inbox.close()
    (summary,) = batches
    assert summary["fetched"] == 2 and summary["stored"] == 1 and summary["duplicates"] == 1
    assert summary["rerouted"] == 1

    with unit_of_work(engine) as session:
        assert DEAD in set(session.scalars(select(DeadAddress.email)))
        mail = session.scalars(
            select(InboundMail).where(InboundMail.kind == "bounce_permanent")
        ).one()
        assert mail.case_id == case_id and mail.mailbox.startswith("imaps:hotline@127.0.0.1")
        assert "inbox-secret" not in mail.mailbox
        pending = session.scalars(
            select(Notice.recipient_email).where(Notice.status == NoticeStatus.PENDING)
        ).all()
        assert NEXT in pending

    # A person reading the folder keeps their own \Seen state; ours is a keyword.
    context = ssl.create_default_context(cafile=str(imap_server.cert))
    from imapclient import IMAPClient

    with IMAPClient("127.0.0.1", port=imap_server.port, ssl_context=context) as client:
        client.login(dovecot.USER, dovecot.PASSWORD)
        client.select_folder("INBOX", readonly=True)
        flags = client.get_flags(client.search(["ALL"]))
        assert flags and all(STORED_KEYWORD in f and b"\\Seen" not in f for f in flags.values())
