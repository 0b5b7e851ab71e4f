"""Delivery status notifications: is a message a bounce, which addresses failed, and for good?

The reading is :mod:`flufl.bounce`'s: RFC 3464 reports first, then the formats of the MTAs that
do not follow it (Exim's ``X-Failed-Recipients``, Postfix, Exchange, qmail, Yahoo and more).
Its detectors are heuristics, so they run only on messages that look like bounces: a report of
type ``delivery-status``, a null or mailer-daemon sender, a failed-recipients header, or a
subject bounces use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flufl.bounce import all_failures

from notices.inbound.message import InboundMessage
from notices.mail.addresses import InvalidAddress, validate_address

_DAEMONS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mdaemon"})
_SUBJECT = re.compile(
    r"undeliver|undelivered mail|mail delivery (?:failed|failure|subsystem)|"
    r"delivery status notification|returned mail|delivery (?:has )?failed|"
    r"failure notice|delivery failure|delayed mail|warning: message .* delayed|"
    r"no se pudo entregar|mensaje no entregado|notificaci[oó]n de estado de entrega",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Bounce:
    """What a bounce says: addresses that failed for good, and those still being retried."""

    permanent: tuple[str, ...]
    temporary: tuple[str, ...]

    @property
    def is_permanent(self) -> bool:
        return bool(self.permanent)


def looks_like_bounce(message: InboundMessage) -> bool:
    """Whether the message shows any of the marks of a delivery status notification."""
    return _sure_marks(message) or bool(_SUBJECT.search(message.subject))


def _sure_marks(message: InboundMessage) -> bool:
    ctype = message.headers.get("content-type", "").lower()
    if "multipart/report" in ctype and "delivery-status" in ctype:
        return True
    if "x-failed-recipients" in message.headers:
        return True
    if message.headers.get("return-path", "").replace(" ", "") == "<>":
        return True
    local = (message.sender or "").partition("@")[0].lower()
    return local in _DAEMONS


def _addresses(found: frozenset[bytes]) -> tuple[str, ...]:
    kept: list[str] = []
    for raw in sorted(found):
        try:
            kept.append(validate_address(raw.decode("ascii", errors="strict")))
        except (UnicodeDecodeError, InvalidAddress):
            continue  # an address we could never have sent to
    return tuple(dict.fromkeys(kept))


def read_bounce(message: InboundMessage) -> Bounce | None:
    """The failed addresses of a bounce, or None when the message is not one.

    A message that looks like a bounce but names no failed address is a bounce with none: it
    tells nothing to act on.
    """
    if not looks_like_bounce(message):
        return None
    temporary, permanent = all_failures(message.parsed)
    dead = _addresses(permanent)
    retried = tuple(a for a in _addresses(temporary) if a not in dead)
    if not dead and not retried and not _sure_marks(message):
        return None  # only the subject looked like a bounce: someone wrote about one
    return Bounce(permanent=dead, temporary=retried)
