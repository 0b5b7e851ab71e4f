"""Delivery through an SMTP relay: one connection per batch, reconnecting if the relay drops it.

``TAKEDOWN_SMTP_URL`` is ``smtp://[user:pass@]host[:port][?starttls=true]`` (plain SMTP, port 25
by default, optionally upgraded with STARTTLS) or ``smtps://[user:pass@]host[:port]`` (TLS from
the first byte, port 465 by default). User and password are percent-decoded. Credentials are
refused on a connection without TLS unless the relay is on loopback.

Each message is sent with MAIL, RCPT and DATA so that the relay's own reply (with its queue id)
is kept as the reason of a successful delivery. A 4xx reply is a temporary failure, a 5xx reply a
permanent one; a dropped connection is re-opened (within :class:`SmtpLimits`) and the message
tried once more, and if the relay cannot be reached the rest of the batch fails temporarily.
"""

from __future__ import annotations

import ipaddress
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import parse_qsl, unquote, urlsplit

from notices.transport.outcome import (
    DeliveryOutcome,
    DeliveryResult,
    OutgoingMail,
    outcome_for_code,
    server_reason,
)

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


class InvalidSmtpUrl(ValueError):
    """``TAKEDOWN_SMTP_URL`` cannot be used; the message says why (never the password)."""


class RelayUnavailable(ConnectionError):
    """The relay could not be reached, or refused the session (TLS or authentication)."""


@dataclass(frozen=True, slots=True)
class SmtpTimeouts:
    """Seconds to wait: for the TCP (and TLS) connection, and for each command's reply."""

    connect: float = 15.0
    command: float = 60.0


@dataclass(frozen=True, slots=True)
class SmtpLimits:
    """How hard to try within one batch before leaving the rest to the next attempt."""

    reconnects_per_batch: int = 3


DEFAULT_TIMEOUTS = SmtpTimeouts()
DEFAULT_LIMITS = SmtpLimits()


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """A parsed ``TAKEDOWN_SMTP_URL``."""

    host: str
    port: int
    implicit_tls: bool = False
    starttls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        """Parse ``smtp://`` or ``smtps://`` URLs; raise :class:`InvalidSmtpUrl` if unusable."""
        parts = urlsplit(url.strip())
        if parts.scheme not in DEFAULT_PORTS:
            raise InvalidSmtpUrl("scheme must be smtp:// or smtps://")
        if not parts.hostname:
            raise InvalidSmtpUrl("no relay host given")
        try:
            port = parts.port or DEFAULT_PORTS[parts.scheme]
        except ValueError:
            raise InvalidSmtpUrl("port is not a number from 1 to 65535") from None
        starttls = False
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key != "starttls" or value.lower() not in ("true", "false"):
                raise InvalidSmtpUrl("the only query option is starttls=true|false")
            starttls = value.lower() == "true"
        if parts.scheme == "smtps" and starttls:
            raise InvalidSmtpUrl("smtps:// is TLS already; starttls applies to smtp:// only")
        settings = cls(
            host=parts.hostname,
            port=port,
            implicit_tls=parts.scheme == "smtps",
            starttls=starttls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )
        if settings.username and not settings.uses_tls and not settings.on_loopback:
            raise InvalidSmtpUrl("refusing to send credentials without TLS: use starttls=true")
        return settings

    @property
    def uses_tls(self) -> bool:
        """True when the session is encrypted (smtps, or STARTTLS)."""
        return self.implicit_tls or self.starttls

    @property
    def on_loopback(self) -> bool:
        """True for a relay on 127.0.0.0/8, ::1 or ``localhost``."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


class SmtpTransport:
    """A :class:`notices.transport.outcome.MailTransport` over one reused SMTP connection."""

    def __init__(
        self,
        settings: SmtpSettings,
        *,
        timeouts: SmtpTimeouts = DEFAULT_TIMEOUTS,
        limits: SmtpLimits = DEFAULT_LIMITS,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        self.settings = settings
        self.timeouts = timeouts
        self.limits = limits
        self._ssl_context = ssl_context or ssl.create_default_context()
        self._local_hostname = local_hostname
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def send_batch(self, mails: Sequence[OutgoingMail]) -> list[DeliveryResult]:
        """Send ``mails`` in order over one connection; one result each, never raises for one."""
        results: list[DeliveryResult] = []
        reconnects = 0
        for index, mail in enumerate(mails):
            attempts = 0
            while True:
                attempts += 1
                try:
                    smtp = self._connection()
                    results.append(self._send_one(smtp, mail))
                    break
                except RelayUnavailable as exc:
                    reason = f"relay unavailable: {exc}"
                    results += [_temporary(m, reason) for m in mails[index:]]
                    return results
                except (smtplib.SMTPServerDisconnected, OSError) as exc:
                    self._drop()
                    reconnects += 1
                    if attempts > 1 or reconnects > self.limits.reconnects_per_batch:
                        results.append(_temporary(mail, f"connection lost: {exc}"))
                        break
        return results

    def close(self) -> None:
        """Say QUIT and close the connection, if one is open."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            smtp.close()

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            self._smtp = self._open()
        return self._smtp

    def _open(self) -> smtplib.SMTP:
        settings = self.settings
        smtp: smtplib.SMTP
        try:
            if settings.implicit_tls:
                smtp = smtplib.SMTP_SSL(
                    settings.host,
                    settings.port,
                    local_hostname=self._local_hostname,
                    timeout=self.timeouts.connect,
                    context=self._ssl_context,
                )
            else:
                smtp = smtplib.SMTP(
                    settings.host,
                    settings.port,
                    local_hostname=self._local_hostname,
                    timeout=self.timeouts.connect,
                )
        except (OSError, smtplib.SMTPException) as exc:
            where = f"{settings.host}:{settings.port}"
            raise RelayUnavailable(f"cannot connect to {where}: {exc}") from None
        try:
            if smtp.sock is not None:
                smtp.sock.settimeout(self.timeouts.command)
            smtp.ehlo()
            if settings.starttls:
                smtp.starttls(context=self._ssl_context)
                smtp.ehlo()
            if settings.username:
                smtp.login(settings.username, settings.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            smtp.close()
            raise RelayUnavailable(f"authentication refused: {exc.smtp_code}") from None
        except (OSError, smtplib.SMTPException) as exc:
            smtp.close()
            raise RelayUnavailable(f"session set-up failed: {server_reason(str(exc))}") from None
        return smtp

    def _send_one(self, smtp: smtplib.SMTP, mail: OutgoingMail) -> DeliveryResult:
        code, reply = smtp.mail(mail.envelope_from)
        if code != 250:
            return self._refused(smtp, mail, code, reply)
        code, reply = smtp.rcpt(mail.recipient)
        if code not in (250, 251):
            return self._refused(smtp, mail, code, reply)
        try:
            code, reply = smtp.data(mail.raw)
        except smtplib.SMTPDataError as exc:
            return self._refused(smtp, mail, exc.smtp_code, exc.smtp_error)
        outcome = outcome_for_code(code)
        return DeliveryResult(mail.message_id, outcome, code, server_reason(reply))

    def _refused(
        self, smtp: smtplib.SMTP, mail: OutgoingMail, code: int, reply: bytes | str
    ) -> DeliveryResult:
        if code == 421:
            # "Service closing": the relay is going away; treat it like a dropped connection.
            raise smtplib.SMTPServerDisconnected(server_reason(reply))
        try:
            smtp.rset()
        except (smtplib.SMTPException, OSError):
            # The refusal stands; the next message gets a fresh connection.
            self._drop()
        return DeliveryResult(mail.message_id, outcome_for_code(code), code, server_reason(reply))

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()


def _temporary(mail: OutgoingMail, reason: str) -> DeliveryResult:
    return DeliveryResult(
        mail.message_id, DeliveryOutcome.TEMPORARY_FAILURE, None, server_reason(reason)
    )
