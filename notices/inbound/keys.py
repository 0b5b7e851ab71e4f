"""What in a message can tie it to a case: our case references, the Message-IDs of our notices
it answers or returns, X-ARF report ids, and URLs (normalised the way intake normalises them).

Pure text work: nothing here looks anything up, and no URL found is ever fetched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from notices.inbound.message import InboundMessage
from urls import InvalidURL, normalise_url

MAX_KEYS = 20
_REFERENCE = re.compile(r"\bTD-(\d{6,12})\b", re.IGNORECASE)
_UUID = re.compile(
    r"\b[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\b", re.IGNORECASE
)
_URL = re.compile(r"\b(?:h[tx]{2}ps?)://[^\s<>\"'()]{3,2048}", re.IGNORECASE)
_DEFANGED_DOT = re.compile(r"\[\.\]|\(\.\)|\{\.\}|\[dot\]", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class MatchKeys:
    """The clues a message carries, strongest first when read by the matcher."""

    message_ids: tuple[str, ...]
    """``In-Reply-To``, ``References``, and the Message-IDs of the notices a bounce returns."""
    case_ids: tuple[int, ...]
    """Case ids read from ``TD-000042`` references (subject first)."""
    report_ids: tuple[str, ...]
    """X-ARF report ids (UUIDs), lower-cased."""
    urls: tuple[str, ...]
    """Normalised URLs mentioned, defanged ones included (refanged only to compare)."""


def _refang(url: str) -> str:
    url = _DEFANGED_DOT.sub(".", url)
    return re.sub(r"^hxxp", "http", url, flags=re.IGNORECASE)


def urls_in(text: str) -> tuple[str, ...]:
    """The normalised http(s) URLs written in ``text``, defanged or not, in order, at most 20."""
    found: dict[str, None] = {}
    for match in _URL.finditer(text):
        candidate = _refang(match.group(0).rstrip(".,;:!?]"))
        try:
            found[normalise_url(candidate).url] = None
        except InvalidURL:
            continue
        if len(found) >= MAX_KEYS:
            break
    return tuple(found)


def keys_of(message: InboundMessage) -> MatchKeys:
    """Every clue of ``message``, from its headers, its words and what it encloses."""
    text = f"{message.subject}\n{message.text}\n{message.enclosed}"
    ids = dict.fromkeys(
        [*message.in_reply_to, *reversed(message.references), *message.enclosed_message_ids]
    )
    cases = dict.fromkeys(int(n) for n in _REFERENCE.findall(text))
    reports = dict.fromkeys(u.lower() for u in _UUID.findall(text))
    return MatchKeys(
        message_ids=tuple(ids)[:MAX_KEYS],
        case_ids=tuple(cases)[:MAX_KEYS],
        report_ids=tuple(reports)[:MAX_KEYS],
        urls=urls_in(text),
    )


def defang_text(text: str) -> str:
    """``text`` with every URL in it defanged (``hxxp://example[.]bz/…``), never clickable."""

    def one(match: re.Match[str]) -> str:
        written = match.group(0)
        scheme, _, rest = _refang(written).partition("://")
        host, slash, tail = rest.partition("/")
        return f"hxxp{scheme[4:]}://{host.replace('.', '[.]')}{slash}{tail}"

    return _URL.sub(one, text)
