"""Mail transports: the protocol, its two implementations, and the choice between them.

- :class:`notices.transport.smtp.SmtpTransport` when ``TAKEDOWN_SMTP_URL`` is set (production);
- :class:`notices.transport.eml.EmlOutboxTransport` writing ``.eml`` files to
  ``TAKEDOWN_OUTBOX_DIR`` otherwise (the embedded default and the demo).

Both take a batch of :class:`OutgoingMail` and return one :class:`DeliveryResult` per mail:
``sent``, ``temporary_failure`` (retry later) or ``permanent_failure`` (do not retry unchanged),
with the server's code and reply as the reason.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from notices.transport.eml import EmlOutboxTransport, eml_filename
from notices.transport.outcome import (
    DeliveryOutcome,
    DeliveryResult,
    MailTransport,
    OutgoingMail,
    outcome_for_code,
)
from notices.transport.smtp import (
    DEFAULT_LIMITS,
    DEFAULT_TIMEOUTS,
    InvalidSmtpUrl,
    RelayUnavailable,
    SmtpLimits,
    SmtpSettings,
    SmtpTimeouts,
    SmtpTransport,
)

__all__ = [
    "DeliveryOutcome",
    "DeliveryResult",
    "EmlOutboxTransport",
    "InvalidSmtpUrl",
    "MailTransport",
    "NoTransportConfigured",
    "OutgoingMail",
    "RelayUnavailable",
    "SmtpLimits",
    "SmtpSettings",
    "SmtpTimeouts",
    "SmtpTransport",
    "eml_filename",
    "outcome_for_code",
    "transport_from_settings",
]


class NoTransportConfigured(ValueError):
    """Neither an SMTP URL nor an outbox folder was given."""


def transport_from_settings(
    smtp_url: str | None,
    outbox_dir: str | Path | None,
    *,
    timeouts: SmtpTimeouts = DEFAULT_TIMEOUTS,
    limits: SmtpLimits = DEFAULT_LIMITS,
    ssl_context: ssl.SSLContext | None = None,
) -> MailTransport:
    """SMTP when ``smtp_url`` is set, else the ``.eml`` folder; raise if neither is given."""
    if smtp_url:
        settings = SmtpSettings.from_url(smtp_url)
        return SmtpTransport(settings, timeouts=timeouts, limits=limits, ssl_context=ssl_context)
    if outbox_dir:
        return EmlOutboxTransport(outbox_dir)
    raise NoTransportConfigured("set TAKEDOWN_SMTP_URL or TAKEDOWN_OUTBOX_DIR")
