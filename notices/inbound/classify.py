"""The class of an inbound message, and what was read from it to decide."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from notices.inbound.autoreply import is_auto_reply, ticket_of
from notices.inbound.bounces import read_bounce
from notices.inbound.keys import MatchKeys, keys_of
from notices.inbound.message import InboundMessage
from notices.inbound.replies import claims_removed, strip_quoted


class InboundClass(StrEnum):
    """What kind of answer a message is."""

    BOUNCE_PERMANENT = "bounce_permanent"
    """A delivery status notification: the address failed for good."""
    BOUNCE_TEMPORARY = "bounce_temporary"
    """Delivery is delayed and still retried, or a bounce names no address."""
    AUTO_ACK = "auto_ack"
    """An automatic reply: a ticket system's acknowledgement, a vacation notice."""
    REPLY = "reply"
    """Written by a person: an analyst reads it."""


@dataclass(frozen=True, slots=True)
class Classification:
    """How a message was read: its class and what was extracted."""

    kind: InboundClass
    failed_addresses: tuple[str, ...] = ()
    """For bounces: the addresses that failed (permanently for ``bounce_permanent``)."""
    ticket: str | None = None
    claims_removed: bool = False
    """A hint only: the words say the content was removed."""
    reply_text: str = ""
    """The message's own words, quoted history stripped."""
    keys: MatchKeys = field(default_factory=lambda: MatchKeys((), (), (), ()))
    why: str = ""


def classify(message: InboundMessage) -> Classification:
    """Read ``message``: a bounce first (its headers can also look automatic), then an
    automatic reply, else a person's reply."""
    keys = keys_of(message)
    own_words = strip_quoted(message.text)
    bounce = read_bounce(message)
    if bounce is not None:
        if bounce.permanent:
            return Classification(
                InboundClass.BOUNCE_PERMANENT,
                failed_addresses=bounce.permanent,
                keys=keys,
                reply_text=own_words,
                why="delivery status notification: permanent failure",
            )
        why = "delivery delayed, still retried" if bounce.temporary else "bounce naming no address"
        return Classification(
            InboundClass.BOUNCE_TEMPORARY,
            failed_addresses=bounce.temporary,
            keys=keys,
            reply_text=own_words,
            why=f"delivery status notification: {why}",
        )
    if is_auto_reply(message):
        ticket = ticket_of(message)
        return Classification(
            InboundClass.AUTO_ACK,
            ticket=ticket,
            claims_removed=claims_removed(own_words),
            keys=keys,
            reply_text=own_words,
            why="automatic reply" + (f" with ticket {ticket}" if ticket else ""),
        )
    hint = claims_removed(own_words)
    return Classification(
        InboundClass.REPLY,
        ticket=None,
        claims_removed=hint,
        keys=keys,
        reply_text=own_words,
        why="written by a person" + ("; says the content was removed" if hint else ""),
    )
