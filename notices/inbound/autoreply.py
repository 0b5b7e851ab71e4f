"""Automatic replies (RFC 3834): acknowledgements with a ticket number, and vacation notices.

An abuse desk's ticket system answers a notice with its own reference, usually in the subject
(``[Ticket#2026031610000123]``, ``[ABUSE-4711]``, ``Case 123456``); the hosts want it quoted when
we write again. The reference is someone else's text: it is kept only when it is a short token
of letters, digits and a few separators, never a header or template.
"""

from __future__ import annotations

import re

from notices.inbound.message import InboundMessage

MAX_TICKET = 64
_TICKET_SHAPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._#:/-]{1,62}[A-Za-z0-9]$")
_OURS = re.compile(r"^TD-\d+$", re.IGNORECASE)
_SUBJECT_AUTO = re.compile(
    r"\b(?:out of (?:the )?office|automatic reply|auto(?:matic)?[- ]?(?:reply|response)|"
    r"autoreply|auto:|vacation|abwesenheit|respuesta autom[aá]tica|fuera de la oficina|"
    r"acknowledg(?:e?ment|ed)|ticket (?:created|received|opened)|we have received your)",
    re.IGNORECASE,
)
# A label, then the ticket: "[Ticket#123]", "Ticket ID: ABC-12", "Case #123", "caso n.º 77".
_LABELLED = re.compile(
    r"(?:ticket|case|incident|caso|incidencia|solicitud|request|tracking|ref(?:erence)?)"
    r"\s*(?:id|no\.?|nr\.?|number|n[.ºo°]*|n[uú]mero)?\s*[:#]?\s*#?\s*"
    r"(?P<ticket>[A-Za-z0-9][A-Za-z0-9._/-]{1,62})",
    re.IGNORECASE,
)
# A bracketed token with digits: "[#123456]", "[ABUSE-4711]", "(INC0012345)".
_BRACKETED = re.compile(r"[\[(]\s*#?(?P<ticket>[A-Za-z]{0,12}[-#:]?\d{3,30})\s*[\])]")


def is_auto_reply(message: InboundMessage) -> bool:
    """RFC 3834 ``Auto-Submitted`` other than ``no``, the de-facto auto-reply headers, or a
    subject only machines write."""
    submitted = message.headers.get("auto-submitted", "").split(";")[0].strip().lower()
    if submitted and submitted != "no":
        return True
    if any(h in message.headers for h in ("x-autoreply", "x-autorespond")):
        return True
    if message.headers.get("precedence", "").lower() == "auto_reply":
        return True
    return bool(_SUBJECT_AUTO.search(message.subject))


def _usable(token: str) -> str | None:
    token = token.strip(".:/-#")
    if not _TICKET_SHAPE.match(token) or _OURS.match(token) or not any(c.isdigit() for c in token):
        return None
    return token[:MAX_TICKET]


def ticket_in(text: str) -> str | None:
    """The first ticket reference in ``text`` (a subject), or None. Our own ``TD-`` references
    are not tickets."""
    for pattern in (_LABELLED, _BRACKETED):
        for match in pattern.finditer(text[:2000]):
            found = _usable(match.group("ticket"))
            if found is not None:
                return found
    return None


def ticket_of(message: InboundMessage) -> str | None:
    """The ticket an acknowledgement gives: from its subject, else from its first lines."""
    return ticket_in(message.subject) or ticket_in("\n".join(message.text.splitlines()[:40]))
