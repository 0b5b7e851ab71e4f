"""The world answers back: replies and bounces, written to the engine's inbound Maildir when due.

A notice delivered to a mailbox whose party has ``replies`` in the world file starts them:
each is made when the notice arrives and put in the Maildir ``delay`` seconds later (scaled by
the world's ``time_scale``), on the world's clock. Due replies go out whenever the sandbox looks
at its mail (each delivery, a ticker of the running sandbox, or :meth:`ReplyDesk.pump`).
"""

from __future__ import annotations

import heapq
import itertools
import mailbox
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path

from sandbox.answers.mail_replies import (
    NOT_OUR_CUSTOMER_WORDS,
    REMOVED_WORDS,
    Original,
    auto_ack,
    exim_bounce,
    person_reply,
    postfix_dsn,
)
from sandbox.state import Clock
from sandbox.world.index import Party, WorldIndex
from sandbox.world.model import Network, Registrar, ReplyBehaviour

RELAY = "mx.sandbox.example"
QUOTED_LINES = 12


def is_dead(party: Party, address: str) -> bool:
    """Whether ``address`` is the party's abuse mailbox and bounces: nobody reads it."""
    if not isinstance(party, Network | Registrar) or address.lower() != party.abuse_email:
        return False
    return any(r.kind == "bounce" for r in party.replies)


@dataclass(frozen=True, slots=True)
class SentReply:
    """A reply as delivered, for tests and inspection."""

    at: float
    kind: str
    party: str
    to_notice: str


def _original(parsed: Message, raw: bytes, mail_from: str, recipient: str) -> Original:
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    header_block = head.decode("utf-8", errors="replace").replace("\r\n", "\n").strip() + "\n"
    lines: list[str] = []
    for part in parsed.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                text = payload.decode(part.get_content_charset() or "utf-8", errors="replace")
                lines = [line.rstrip() for line in text.splitlines()][:QUOTED_LINES]
            break

    def header(name: str) -> str:
        return str(parsed.get(name, "")).replace("\r", " ").replace("\n", " ").strip()

    return Original(
        sender=mail_from or header("From"),
        reply_to=header("Reply-To") or header("From") or mail_from,
        recipient=recipient,
        subject=header("Subject"),
        message_id=header("Message-ID"),
        date=header("Date"),
        header_block=header_block,
        first_lines=tuple(lines),
    )


@dataclass(slots=True)
class ReplyDesk:
    """Makes the world's replies and delivers them to a Maildir on the world's clock."""

    index: WorldIndex
    clock: Clock
    maildir: Path | None = None
    sent: list[SentReply] = field(default_factory=list)
    _pending: list[tuple[float, int, bytes, SentReply]] = field(default_factory=list)
    _sequence: itertools.count[int] = field(default_factory=itertools.count)
    _tickets: Counter[str] = field(default_factory=Counter)

    def notice_received(self, mail_from: str, rcpt_tos: list[str], raw: bytes, at: float) -> None:
        """Start the replies of every party the message was delivered to."""
        parsed = message_from_bytes(raw, policy=policy.compat32)
        scale = self.index.world.time_scale
        for recipient in rcpt_tos:
            for party in self.index.mailboxes.get(recipient.lower(), []):
                if not isinstance(party, Network | Registrar):
                    continue
                if recipient.lower() != party.abuse_email:
                    continue  # a second address: read by people, never auto-answered
                for reply in party.replies:
                    original = _original(parsed, raw, mail_from, recipient.lower())
                    due = at + reply.delay / scale
                    made = self._make(reply, party, original, due)
                    record = SentReply(due, reply.kind, party.id, original.message_id)
                    heapq.heappush(self._pending, (due, next(self._sequence), made, record))

    def _make(
        self, reply: ReplyBehaviour, party: Network | Registrar, original: Original, at: float
    ) -> bytes:
        mx = f"mx.{original.recipient.partition('@')[2] or 'sandbox.example'}"
        if reply.kind == "bounce":
            make = exim_bounce if reply.mta == "exim" else postfix_dsn
            return make(original, mx, RELAY, at)
        if reply.kind == "auto_ack":
            self._tickets[party.id] += 1
            number = party.asn if isinstance(party, Network) else party.iana_id
            ticket = f"{reply.ticket_prefix}{number}{self._tickets[party.id]:04d}"
            return auto_ack(original, party.abuse_email, party.name, ticket, at)
        words = REMOVED_WORDS if reply.kind == "removed" else NOT_OUR_CUSTOMER_WORDS
        return person_reply(original, party.abuse_email, party.name, words, at)

    def pump(self) -> int:
        """Deliver every reply whose time has come; return how many."""
        now = self.clock()
        count = 0
        box = None
        while self._pending and self._pending[0][0] <= now:
            _, _, raw, record = heapq.heappop(self._pending)
            if self.maildir is not None:
                box = box or mailbox.Maildir(self.maildir, create=True)
                box.add(raw)
            self.sent.append(record)
            count += 1
        return count

    @property
    def waiting(self) -> int:
        return len(self._pending)
