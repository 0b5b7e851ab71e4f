"""An inbound message read from its raw bytes: the few headers the engine acts on, its text, and
what it carries, all tamed on the way in.

Inbound mail is hostile input. Header values become one capped line of printable text; the text
of the message is capped; HTML is reduced to its words (scripts, styles and remote references
dropped) and never rendered; attachments are described (name, type, size, digest), never opened.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

from notices.facts import clean_text
from notices.mail.addresses import InvalidAddress, validate_address

MAX_RAW_BYTES = 25 * 2**20
"""Messages larger than this are refused: no abuse desk answers with more."""
MAX_TEXT = 64 * 1024
"""Characters of body text kept for classification, matching and display."""
MAX_HEADER = 998
MAX_MESSAGE_ID = 255
MAX_IDS = 50
MAX_ATTACHMENTS = 50

_MESSAGE_ID = re.compile(r"<([\x21-\x3b\x3d\x3f-\x7e]{1,250})>")
_ORIGINAL_ID_HEADER = re.compile(
    r"^\s*(?:message-id|x-original-message-id)\s*:\s*(<[^>\r\n]*>)", re.I | re.M
)
_TEXT_TYPES = frozenset({"text/plain", "text/html", "text/rfc822-headers"})
INTERESTING_HEADERS = (
    "auto-submitted",
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "precedence",
    "x-failed-recipients",
    "return-path",
    "content-type",
)


class MessageTooLarge(ValueError):
    """The raw message is over :data:`MAX_RAW_BYTES`."""


@dataclass(frozen=True, slots=True)
class Attachment:
    """What an attachment is, without its content: kept as evidence, never rendered."""

    filename: str | None
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """The parts of one received message the engine reads."""

    raw_sha256: str
    size: int
    message_id: str | None
    """``<local@domain>`` as the sender wrote it, or None when missing or unusable."""
    subject: str
    sender: str | None
    """The From address, validated; None when it is not a usable address."""
    sender_name: str | None
    date: datetime | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    headers: dict[str, str]
    """The headers of :data:`INTERESTING_HEADERS` present, lower-cased names, cleaned values."""
    text: str
    """The message's own words: its text parts (HTML reduced to text), capped."""
    enclosed: str
    """Text of enclosed messages and header blocks (a bounce's returned notice), capped."""
    enclosed_message_ids: tuple[str, ...]
    """Message-IDs of enclosed messages: which of our notices a bounce returns."""
    attachments: tuple[Attachment, ...]
    parsed: Message = field(repr=False, compare=False)
    """The parsed message (``compat32``), for the bounce detectors."""


class _TextOfHtml(HTMLParser):
    """The visible words of an HTML part: no script, style, image or link is followed."""

    _SKIP = frozenset({"script", "style", "head", "title"})
    _BREAK = frozenset({"p", "br", "div", "tr", "li", "h1", "h2", "h3", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BREAK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1
        elif tag in self._BREAK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The words of an HTML document, one paragraph a line; markup and references dropped."""
    parser = _TextOfHtml()
    parser.feed(html[: MAX_TEXT * 4])
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def _header(message: Message, name: str, limit: int = MAX_HEADER) -> str:
    value = message.get(name)
    if value is None:
        return ""
    try:
        decoded = str(email.header.make_header(email.header.decode_header(str(value))))
    except (UnicodeError, LookupError, email.errors.HeaderParseError):
        decoded = str(value)
    return clean_text(decoded, limit)


def message_ids(text: str) -> tuple[str, ...]:
    """The ``<id>`` tokens of a Message-ID, In-Reply-To or References value, in order."""
    found = dict.fromkeys(f"<{m}>" for m in _MESSAGE_ID.findall(text[: MAX_HEADER * 20]))
    return tuple(i for i in found if len(i) <= MAX_MESSAGE_ID)[:MAX_IDS]


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload[: MAX_TEXT * 4].decode(charset, errors="replace")
    except LookupError:
        return payload[: MAX_TEXT * 4].decode("utf-8", errors="replace")


def _sender(message: Message) -> tuple[str | None, str | None]:
    pairs = getaddresses([_header(message, "From")])
    if not pairs:
        return None, None
    name, address = pairs[0]
    try:
        checked: str | None = validate_address(address)
    except InvalidAddress:
        checked = None
    return checked, (clean_text(name, 200) or None)


def _date(message: Message) -> datetime | None:
    text = _header(message, "Date", 200)
    try:
        value = parsedate_to_datetime(text) if text else None
    except (TypeError, ValueError, IndexError):
        return None
    if value is None:
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


class _Walk:
    """Collects the text, enclosed text and attachments of a message tree."""

    def __init__(self) -> None:
        self.own: list[str] = []
        self.html: list[str] = []
        self.enclosed: list[str] = []
        self.enclosed_ids: list[str] = []
        self.attachments: list[Attachment] = []

    def walk(self, part: Message, *, inside: bool) -> None:
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "message/global"):
            for sub in part.get_payload() if part.is_multipart() else []:
                if isinstance(sub, Message):
                    self.enclosed_ids.extend(message_ids(_header(sub, "Message-ID")))
                    self.enclosed.append(f"Subject: {_header(sub, 'Subject')}")
                    self.walk(sub, inside=True)
            return
        if part.is_multipart():
            for sub in part.get_payload():
                if isinstance(sub, Message):
                    self.walk(sub, inside=inside)
            return
        disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        if disposition == "attachment" or ctype not in _TEXT_TYPES:
            if ctype == "message/delivery-status":
                return  # the bounce detectors read it from the parsed message
            self._attachment(part, ctype)
            return
        text = _decoded(part)
        if ctype == "text/rfc822-headers":
            self.enclosed.append(text)
            self.enclosed_ids.extend(
                i for m in _ORIGINAL_ID_HEADER.findall(text) for i in message_ids(m)
            )
        elif inside:
            self.enclosed.append(html_to_text(text) if ctype == "text/html" else text)
        elif ctype == "text/html":
            self.html.append(html_to_text(text))
        else:
            self.own.append(text)

    def _attachment(self, part: Message, ctype: str) -> None:
        if len(self.attachments) >= MAX_ATTACHMENTS:
            return
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        name = part.get_filename()
        self.attachments.append(
            Attachment(
                filename=(clean_text(name, 200) or None) if isinstance(name, str) else None,
                content_type=clean_text(ctype, 100),
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
            )
        )


def read_message(raw: bytes) -> InboundMessage:
    """Parse one received message. Raises :class:`MessageTooLarge` over the size limit."""
    if len(raw) > MAX_RAW_BYTES:
        raise MessageTooLarge(f"message of {len(raw)} bytes; the limit is {MAX_RAW_BYTES}")
    parsed = email.message_from_bytes(raw, policy=email.policy.compat32)
    walk = _Walk()
    walk.walk(parsed, inside=False)
    own = "\n".join(walk.own) or "\n".join(walk.html)
    enclosed_text = "\n".join(walk.enclosed)
    enclosed_ids = list(walk.enclosed_ids)
    # Some MTAs name the returned message only in their report (Gmail's X-Original-Message-ID).
    # and some return it inline, below their own words (Exim's "copy of the message").
    for match in _ORIGINAL_ID_HEADER.findall(_delivery_status_text(parsed) + "\n" + own):
        enclosed_ids.extend(message_ids(match))
    ids = message_ids(_header(parsed, "Message-ID"))
    sender, name = _sender(parsed)
    return InboundMessage(
        raw_sha256=hashlib.sha256(raw).hexdigest(),
        size=len(raw),
        message_id=ids[0] if ids else None,
        subject=_header(parsed, "Subject", 500),
        sender=sender,
        sender_name=name,
        date=_date(parsed),
        in_reply_to=message_ids(_header(parsed, "In-Reply-To")),
        references=message_ids(_header(parsed, "References", MAX_HEADER * 20)),
        headers={n: _header(parsed, n, 300) for n in INTERESTING_HEADERS if n in parsed},
        text=own[:MAX_TEXT],
        enclosed=enclosed_text[:MAX_TEXT],
        enclosed_message_ids=tuple(dict.fromkeys(enclosed_ids))[:MAX_IDS],
        attachments=tuple(walk.attachments),
        parsed=parsed,
    )


def _delivery_status_text(message: Message) -> str:
    blocks: list[str] = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for block in part.get_payload() if part.is_multipart() else []:
            if isinstance(block, Message):
                blocks.extend(f"{k}: {v}" for k, v in block.items())
    return "\n".join(blocks)[:MAX_TEXT]
