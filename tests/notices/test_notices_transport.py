"""SMTP delivery against a real aiosmtpd relay on loopback, and the .eml outbox folder."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import ssl
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from notices.directory import Directory
from notices.facts import CaseFacts
from notices.kinds import Circumstance
from notices.mail.message import NoticeComposer
from notices.routing import plan_notices
from notices.transport.choice import (
    DeliveryOutcome,
    EmlOutboxTransport,
    InvalidSmtpUrl,
    NoTransportConfigured,
    OutgoingMail,
    SmtpLimits,
    SmtpSettings,
    SmtpTimeouts,
    SmtpTransport,
    eml_filename,
    transport_from_settings,
)
from tests.notices.relay import LoopbackRelay, MailboxBehaviour

FAST = SmtpTimeouts(connect=5.0, command=5.0)


def mail(n: int, recipient: str = "abuse@host.example") -> OutgoingMail:
    message_id = f"<notice-{n}.TD-000001@hotline.example>"
    raw = (
        f"From: notices@hotline.example\r\nTo: {recipient}\r\nMessage-ID: {message_id}\r\n"
        f"Subject: [TD-000001] test {n}\r\n\r\nbody {n}\r\n.leading dot line\r\n"
    ).encode()
    return OutgoingMail(message_id, "notices@hotline.example", recipient, raw)


def smtp_to(relay: LoopbackRelay, **options: object) -> SmtpTransport:
    settings = SmtpSettings.from_url(f"smtp://127.0.0.1:{relay.port}")
    return SmtpTransport(settings, timeouts=FAST, **options)  # type: ignore[arg-type]


def test_batch_goes_over_one_connection_with_relay_replies_as_reasons(
    relay_factory: Callable[..., LoopbackRelay],
) -> None:
    relay = relay_factory()
    mails = [mail(n) for n in range(1, 6)]
    with smtp_to(relay) as transport:
        results = transport.send_batch(mails)
    assert [r.outcome for r in results] == [DeliveryOutcome.SENT] * 5
    assert [r.message_id for r in results] == [m.message_id for m in mails]
    assert results[0].code == 250 and "queued as Q1" in results[0].reason
    assert relay.handler.connections == 1
    assert [r.data for r in relay.handler.received] == [m.raw for m in mails]


def test_4xx_is_temporary_and_5xx_permanent_and_the_batch_goes_on(
    relay_factory: Callable[..., LoopbackRelay],
) -> None:
    behaviour = MailboxBehaviour(
        refuse={
            "busy@host.example": "450 4.2.1 Mailbox busy, try later",
            "gone@host.example": "550 5.1.1 No such user here",
        }
    )
    relay = relay_factory(behaviour=behaviour)
    mails = [mail(1, "busy@host.example"), mail(2, "gone@host.example"), mail(3)]
    with smtp_to(relay) as transport:
        results = transport.send_batch(mails)
    assert [(r.outcome, r.code) for r in results] == [
        (DeliveryOutcome.TEMPORARY_FAILURE, 450),
        (DeliveryOutcome.PERMANENT_FAILURE, 550),
        (DeliveryOutcome.SENT, 250),
    ]
    assert "Mailbox busy" in results[0].reason
    assert "No such user" in results[1].reason
    assert relay.handler.connections == 1
    assert [r.rcpt_tos for r in relay.handler.received] == [["abuse@host.example"]]


def test_dropped_connection_is_reopened_and_the_message_sent_once(
    relay_factory: Callable[..., LoopbackRelay],
) -> None:
    relay = relay_factory(behaviour=MailboxBehaviour(drop_connection_on_message={2}))
    mails = [mail(n) for n in range(1, 5)]
    with smtp_to(relay) as transport:
        results = transport.send_batch(mails)
    assert [r.outcome for r in results] == [DeliveryOutcome.SENT] * 4
    assert relay.handler.connections == 2
    received = [r.data for r in relay.handler.received]
    assert sorted(received) == sorted(m.raw for m in mails)
    assert [r.connection for r in relay.handler.received] == [1, 2, 2, 2]


def test_relay_going_away_mid_batch_fails_the_rest_temporarily(
    relay_factory: Callable[..., LoopbackRelay],
) -> None:
    relay = relay_factory()
    transport = smtp_to(relay, limits=SmtpLimits(reconnects_per_batch=2))
    try:
        first = transport.send_batch([mail(1), mail(2)])
        relay.stop_listening()
        rest = transport.send_batch([mail(3), mail(4), mail(5)])
    finally:
        transport.close()
    assert [r.outcome for r in first] == [DeliveryOutcome.SENT] * 2
    assert [r.outcome for r in rest] == [DeliveryOutcome.TEMPORARY_FAILURE] * 3
    assert all(r.code is None for r in rest)
    assert "relay unavailable" in rest[-1].reason or "connection lost" in rest[-1].reason
    assert len(relay.handler.received) == 2


def test_relay_vanishing_during_a_batch_fails_the_rest_temporarily(
    relay_factory: Callable[..., LoopbackRelay],
) -> None:
    relay = relay_factory(behaviour=MailboxBehaviour(vanish_on_message=3))
    with smtp_to(relay) as transport:
        results = transport.send_batch([mail(n) for n in range(1, 7)])
    assert [r.outcome for r in results] == [DeliveryOutcome.SENT] * 2 + [
        DeliveryOutcome.TEMPORARY_FAILURE
    ] * 4
    assert "relay unavailable: cannot connect" in results[2].reason
    assert [r.data for r in relay.handler.received] == [mail(1).raw, mail(2).raw]


def test_unreachable_relay_fails_every_mail_temporarily() -> None:
    # A port nobody listens on: bind, note the port, close.
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    transport = SmtpTransport(SmtpSettings.from_url(f"smtp://127.0.0.1:{port}"), timeouts=FAST)
    with transport:
        results = transport.send_batch([mail(1), mail(2)])
    assert [r.outcome for r in results] == [DeliveryOutcome.TEMPORARY_FAILURE] * 2
    assert "cannot connect" in results[0].reason


def test_auth_with_right_and_wrong_credentials(
    relay_factory: Callable[..., LoopbackRelay],
) -> None:
    relay = relay_factory(credentials=("hotline", "s3cret pass"))
    good = SmtpSettings.from_url(f"smtp://hotline:s3cret%20pass@127.0.0.1:{relay.port}")
    assert good.password == "s3cret pass"
    with SmtpTransport(good, timeouts=FAST) as transport:
        assert transport.send_batch([mail(1)])[0].outcome is DeliveryOutcome.SENT
    bad = SmtpSettings.from_url(f"smtp://hotline:wrong@127.0.0.1:{relay.port}")
    with SmtpTransport(bad, timeouts=FAST) as transport:
        result = transport.send_batch([mail(2)])[0]
    assert result.outcome is DeliveryOutcome.TEMPORARY_FAILURE
    assert "authentication refused" in result.reason
    assert "wrong" not in result.reason
    assert len(relay.handler.received) == 1


def _self_signed() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A throwaway certificate for 127.0.0.1: (server context, client context trusting it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relay.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return _server_context(cert_pem, key_pem), ssl.create_default_context(cadata=cert_pem.decode())


def _server_context(cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    import tempfile

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as folder:
        cert_file, key_file = Path(folder, "cert.pem"), Path(folder, "key.pem")
        cert_file.write_bytes(cert_pem)
        key_file.write_bytes(key_pem)
        context.load_cert_chain(cert_file, key_file)
    return context


def test_starttls_with_auth(relay_factory: Callable[..., LoopbackRelay]) -> None:
    server_context, client_context = _self_signed()
    relay = relay_factory(credentials=("hotline", "pw"), starttls_context=server_context)
    url = f"smtp://hotline:pw@127.0.0.1:{relay.port}?starttls=true"
    with SmtpTransport(
        SmtpSettings.from_url(url), timeouts=FAST, ssl_context=client_context
    ) as transport:
        results = transport.send_batch([mail(1), mail(2)])
    assert [r.outcome for r in results] == [DeliveryOutcome.SENT] * 2
    assert relay.handler.connections == 1


def test_starttls_refuses_an_untrusted_certificate(
    relay_factory: Callable[..., LoopbackRelay],
) -> None:
    server_context, _ = _self_signed()
    relay = relay_factory(starttls_context=server_context)
    settings = SmtpSettings.from_url(f"smtp://127.0.0.1:{relay.port}?starttls=true")
    with SmtpTransport(settings, timeouts=FAST) as transport:  # default trust store
        result = transport.send_batch([mail(1)])[0]
    assert result.outcome is DeliveryOutcome.TEMPORARY_FAILURE
    assert relay.handler.received == []


def test_implicit_tls(relay_factory: Callable[..., LoopbackRelay]) -> None:
    server_context, client_context = _self_signed()
    relay = relay_factory(implicit_tls_context=server_context)
    settings = SmtpSettings.from_url(f"smtps://127.0.0.1:{relay.port}")
    with SmtpTransport(settings, timeouts=FAST, ssl_context=client_context) as transport:
        assert transport.send_batch([mail(1)])[0].outcome is DeliveryOutcome.SENT


def test_a_composed_notice_arrives_intact(
    relay_factory: Callable[..., LoopbackRelay],
    directory: Directory,
    case_factory: Callable[..., CaseFacts],
) -> None:
    relay = relay_factory()
    notice = plan_notices(case_factory(), directory, Circumstance.FIRST_ROUND).notices[0]
    rendered = NoticeComposer(directory).compose(notice, 7, dt.datetime(2026, 3, 2, tzinfo=dt.UTC))
    with smtp_to(relay) as transport:
        assert transport.send_batch([OutgoingMail.from_notice(rendered)])[0].code == 250
    received = relay.handler.received[0]
    assert received.rcpt_tos == [rendered.recipient]
    assert received.mail_from == "notices@hotline.example"
    assert received.data == rendered.raw
    parsed = email.message_from_bytes(received.data, policy=email.policy.default)
    assert parsed["Message-ID"] == rendered.message_id


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://relay.example", ("relay.example", 25, False, False, None)),
        ("smtp://relay.example:587?starttls=true", ("relay.example", 587, False, True, None)),
        ("smtps://u%40x:p@relay.example", ("relay.example", 465, True, False, "u@x")),
        ("smtp://u:p@127.0.0.1:2525", ("127.0.0.1", 2525, False, False, "u")),
    ],
)
def test_smtp_url_parsing(url: str, expected: tuple[object, ...]) -> None:
    settings = SmtpSettings.from_url(url)
    got = (settings.host, settings.port, settings.implicit_tls, settings.starttls)
    assert (*got, settings.username) == expected
    assert "p@" not in repr(settings) and "password='p'" not in repr(settings)


@pytest.mark.parametrize(
    "url",
    [
        "http://relay.example",
        "smtp://",
        "smtp://relay.example:99999",
        "smtp://relay.example?tls=yes",
        "smtps://relay.example?starttls=true",
        "smtp://user:secret@relay.example:587",  # credentials in clear to a remote relay
    ],
)
def test_unusable_smtp_urls_are_refused_without_echoing_secrets(url: str) -> None:
    with pytest.raises(InvalidSmtpUrl) as caught:
        SmtpSettings.from_url(url)
    assert "secret" not in str(caught.value)


def test_eml_outbox_writes_atomically_and_idempotently(tmp_path: Path) -> None:
    outbox = EmlOutboxTransport(tmp_path / "outbox")
    first = outbox.send_batch([mail(1), mail(2)])
    again = outbox.send_batch([mail(1)])
    assert [r.outcome for r in first + again] == [DeliveryOutcome.SENT] * 3
    files = sorted(p.name for p in (tmp_path / "outbox").iterdir())
    assert files == [
        "notice-1.TD-000001@hotline.example.eml",
        "notice-2.TD-000001@hotline.example.eml",
    ]
    assert (tmp_path / "outbox" / files[0]).read_bytes() == mail(1).raw


def test_eml_outbox_failure_is_temporary(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    results = EmlOutboxTransport(blocker).send_batch([mail(1)])
    assert results[0].outcome is DeliveryOutcome.TEMPORARY_FAILURE
    assert "outbox folder" in results[0].reason


def test_eml_file_names_cannot_escape_the_folder() -> None:
    assert eml_filename("<../../etc/passwd@x>") == "_.._etc_passwd@x.eml"
    assert "/" not in eml_filename("<a/b\r\nc@d>")


def test_transport_choice(tmp_path: Path) -> None:
    assert isinstance(transport_from_settings(None, tmp_path), EmlOutboxTransport)
    chosen = transport_from_settings("smtp://127.0.0.1:2525", tmp_path)
    assert isinstance(chosen, SmtpTransport)
    chosen.close()
    with pytest.raises(NoTransportConfigured):
        transport_from_settings(None, None)
