"""Mail the world received, kept per mailbox for inspection (and, if asked, as ``.eml`` files)."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from typing import Any

from sandbox.behaviour import NoticeBehaviour
from sandbox.notice_scan import urls_in_message
from sandbox.replies import ReplyDesk
from sandbox.state import WorldState

MAX_KEPT_BYTES = 2 << 20  # a stored message is cut here; notices are far smaller
_UNSAFE_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9@._+-]")


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    """One delivered message, as the inspection endpoint shows it."""

    id: int
    received_at: float
    mail_from: str
    rcpt_tos: tuple[str, ...]
    subject: str
    message_id: str
    size: int
    url_keys: tuple[str, ...]  # the world URLs the message names
    raw: bytes

    def summary(self, content_port: int, urls: dict[str, Any]) -> dict[str, Any]:
        """A JSON-ready description, with the raw message as text."""
        return {
            "id": self.id,
            "received_at": self.received_at,
            "mail_from": self.mail_from,
            "rcpt_tos": list(self.rcpt_tos),
            "subject": self.subject,
            "message_id": self.message_id,
            "size": self.size,
            "urls": [urls[key].url(content_port) for key in self.url_keys],
            "raw": self.raw.decode("utf-8", errors="replace"),
        }


@dataclass(slots=True)
class Mailstore:
    """Every mailbox of the world and what arrived in it; delivery triggers behaviours.

    With a `spool` folder, each delivered copy is also written there as
    `<message id>-<mailbox>.eml`, in delivery order, for people to read afterwards.
    """

    state: WorldState
    behaviour: NoticeBehaviour
    spool: Path | None = None
    replies: ReplyDesk | None = None
    mailboxes: dict[str, list[ReceivedMessage]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def accepts(self, address: str) -> bool:
        """Whether `address` is a mailbox of the world."""
        return address.lower() in self.state.index.mailboxes

    def deliver(self, mail_from: str, rcpt_tos: list[str], raw: bytes) -> ReceivedMessage:
        """Keep `raw` in each recipient's mailbox and start the behaviours it calls for."""
        parsed: Message = message_from_bytes(raw, policy=policy.compat32)
        keys = urls_in_message(parsed, self.state.index.urls)
        now = self.state.clock()
        message = ReceivedMessage(
            id=next(self._ids),
            received_at=now,
            mail_from=mail_from,
            rcpt_tos=tuple(r.lower() for r in rcpt_tos),
            subject=_header(parsed, "Subject"),
            message_id=_header(parsed, "Message-ID"),
            size=len(raw),
            url_keys=tuple(keys),
            raw=raw[:MAX_KEPT_BYTES],
        )
        for rcpt in message.rcpt_tos:
            self.mailboxes.setdefault(rcpt, []).append(message)
            if self.spool is not None:
                self._write(message, rcpt, self.spool)
        self.state.advance()
        self.behaviour.notice_received(list(message.rcpt_tos), keys, now)
        if self.replies is not None:
            self.replies.notice_received(mail_from, list(message.rcpt_tos), raw, now)
            self.replies.pump()
        return message

    @staticmethod
    def _write(message: ReceivedMessage, mailbox: str, spool: Path) -> None:
        spool.mkdir(parents=True, exist_ok=True)
        name = _UNSAFE_IN_FILE_NAME.sub("_", mailbox)[:200]
        (spool / f"{message.id:04d}-{name}.eml").write_bytes(message.raw)


def _header(message: Message, name: str) -> str:
    value = message.get(name, "")
    return str(value).replace("\r", " ").replace("\n", " ")[:998]
