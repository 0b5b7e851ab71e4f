"""What a mail transport is given and what it reports back, one result per message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Protocol

from notices.facts import clean_text
from notices.mail.message import RenderedNotice

MAX_REASON = 300
"""Longest server reply kept in a delivery result (server text is untrusted input too)."""


class DeliveryOutcome(StrEnum):
    """What became of one message."""

    SENT = "sent"
    """Accepted by the relay (or written to the outbox folder)."""
    TEMPORARY_FAILURE = "temporary_failure"
    """Try again later: a 4xx reply, a dropped connection, an unreachable relay."""
    PERMANENT_FAILURE = "permanent_failure"
    """Do not retry unchanged: a 5xx reply (unknown recipient, rejected content)."""


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """One message for the transport: envelope and the exact bytes to send."""

    message_id: str
    envelope_from: str
    recipient: str
    raw: bytes

    @classmethod
    def from_notice(cls, notice: RenderedNotice) -> OutgoingMail:
        """The mail for a rendered notice."""
        return cls(notice.message_id, notice.envelope_from, notice.recipient, notice.raw)


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """The outcome for one message, with the server's code and reply as the reason."""

    message_id: str
    outcome: DeliveryOutcome
    code: int | None
    reason: str


def outcome_for_code(code: int) -> DeliveryOutcome:
    """2xx sent, 5xx permanent failure; anything else (4xx, nonsense) is worth retrying."""
    if 200 <= code < 300:
        return DeliveryOutcome.SENT
    if 500 <= code < 600:
        return DeliveryOutcome.PERMANENT_FAILURE
    return DeliveryOutcome.TEMPORARY_FAILURE


def server_reason(reply: bytes | str) -> str:
    """A server reply as one short, printable line."""
    return clean_text(reply, MAX_REASON)


class MailTransport(Protocol):
    """Delivers batches of messages; one result per message, in order. Close when done."""

    def send_batch(self, mails: Sequence[OutgoingMail]) -> list[DeliveryResult]:
        """Deliver ``mails``; never raises for a single message's failure."""
        ...

    def close(self) -> None:
        """Release connections; the transport may not be used afterwards."""
        ...

    def __enter__(self) -> MailTransport: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
