"""Finding the world's URLs in a received notice: text, HTML and every attachment.

Notices name URLs plainly (`http://host/path`) or defanged (`hxxp://host[.]bz/path`), in plain
text, in HTML, in JSON (an X-ARF report escapes slashes sometimes) or in any other attachment.
The scan is deliberately forgiving: it is the other side of the wire, not the engine's parser.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Iterator
from email.message import Message
from urllib.parse import unquote, urlsplit

MAX_SCANNED_BYTES = 4 << 20  # a notice larger than this is scanned only this far

_URL = re.compile(r"(?i)\bh[tx]{2}ps?(?:\[:\]|:)//[^\s\"'<>\\)\]]+")
_DEFANGED_DOTS = re.compile(r"\[\.\]|\(\.\)|\{\.\}|\[dot\]", re.IGNORECASE)
_TRAILING = ".,;:!?'\""


def message_texts(message: Message) -> Iterator[str]:
    """Every part of `message` decoded to text, attachments included (bytes read as UTF-8)."""
    budget = MAX_SCANNED_BYTES
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        payload = payload[:budget]
        budget -= len(payload)
        charset = part.get_content_charset() or "utf-8"
        try:
            text = payload.decode(charset, errors="replace")
        except LookupError:
            text = payload.decode("utf-8", errors="replace")
        yield text
        if budget <= 0:
            return


def candidate_keys(text: str) -> Iterator[str]:
    """The host-plus-path keys of every URL written in `text`, plain or defanged."""
    text = html.unescape(text).replace("\\/", "/")
    text = _DEFANGED_DOTS.sub(".", text)
    for match in _URL.finditer(text):
        raw = match.group(0).replace("[:]", ":").rstrip(_TRAILING)
        scheme_end = raw.index("//")
        try:
            parts = urlsplit("http:" + raw[scheme_end:])
            host = parts.hostname
        except ValueError:
            continue
        if not host:
            continue
        path = parts.path or "/"
        query = f"?{parts.query}" if parts.query else ""
        yield host.lower().rstrip(".") + path + query
        if "%" in path:
            yield host.lower().rstrip(".") + unquote(path) + query


def urls_in_message(message: Message, known: Collection[str]) -> list[str]:
    """The keys of the world's URLs (`known`) that `message` names, in order of first mention."""
    found: dict[str, None] = {}
    for text in message_texts(message):
        for key in candidate_keys(text):
            if key in known:
                found.setdefault(key, None)
    return list(found)
