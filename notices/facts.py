"""The plain facts about a case that routing and rendering work on.

The registry maps its rows onto these models; nothing here knows about the database. Every field
that can come from WHOIS, RDAP or DNS is hostile input and is tamed on the way in: control and
format characters (CR/LF, bidi overrides, zero-width marks) become spaces, runs of whitespace are
collapsed and the text is capped, so a 10,000-character WHOIS "name" arrives as a short, single
line of text. Such text is only ever passed to templates as a value, never as template source, and
never reaches a mail header (see :mod:`notices.mail.message`).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

MAX_REGISTRY_TEXT = 200
"""Longest registry-derived text (a contact or network name) kept, in characters."""

MAX_RAW_CONTACT_ADDRESS = 1000
"""Raw abuse-address text longer than this is cut before validation spends work on it."""

MAX_URL_LENGTH = 2048
MAX_REPORT_ID_LENGTH = 100

XarfClassification = Literal["baseline", "A1", "A2", "B1", "B2"]
"""Legal classification of the material as X-ARF v4 ``content/csam`` names it."""

_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
_URL = re.compile(r"^https?://[\x21-\x7e]+$")
_DISPLAY_URL = re.compile(r"^[\x20-\x7e]+$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_REFERENCE = re.compile(r"^[A-Z]{2,8}-[0-9]{1,12}$")
_SOURCE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
_CATEGORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,59}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_TICKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._#:/-]{0,62}[A-Za-z0-9]$")


def clean_text(value: object, limit: int = MAX_REGISTRY_TEXT) -> str:
    """Return ``value`` as one short line of printable text, at most ``limit`` characters.

    Bytes are decoded as UTF-8 with replacement (registries send broken encodings); control,
    format, separator, surrogate and unassigned characters become spaces; whitespace runs collapse;
    text over the limit is cut and ends with an ellipsis.
    """
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", errors="replace")
    if not isinstance(value, str):
        raise ValueError("expected text")
    # Cut early so a huge blob costs no more than a short one.
    head = value[: limit * 4]
    kept = "".join(" " if unicodedata.category(ch) in _DROPPED_CATEGORIES else ch for ch in head)
    text = " ".join(kept.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _registry_text(value: object) -> str:
    return clean_text(value)


def _report_id(value: object) -> str:
    text = clean_text(value, MAX_REPORT_ID_LENGTH)
    if not text:
        raise ValueError("report id is empty")
    return text


def _raw_address(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("address must be text")
    return value[:MAX_RAW_CONTACT_ADDRESS]


def _pattern(regex: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not regex.match(value):
            raise ValueError(f"{what} does not match {regex.pattern}")
        return value

    return AfterValidator(check)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a time zone")
    return value.astimezone(UTC)


def _prefix(value: str) -> str:
    return str(ipaddress.ip_network(value, strict=False))


RegistryText = Annotated[str, BeforeValidator(_registry_text)]
"""Text from WHOIS/RDAP/DNS, cleaned and capped by :func:`clean_text`."""

CaseReference = Annotated[str, _pattern(_REFERENCE, "case reference")]
CountryCode = Annotated[str, _pattern(_COUNTRY, "country code")]
Ticket = Annotated[str, _pattern(_TICKET, "ticket number")]
"""A host's ticket reference: another party's text, so a short token of safe characters."""
UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
Sha256Hex = Annotated[
    str,
    BeforeValidator(lambda v: v.lower() if isinstance(v, str) else v),
    _pattern(_SHA256, "SHA-256 digest"),
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class AbuseContact(BaseModel):
    """An abuse contact as a registry published it; the address is validated only at routing."""

    model_config = _FROZEN

    address: Annotated[str, BeforeValidator(_raw_address)]
    name: RegistryText | None = None
    kind: Literal["abuse", "registrar", "organisation"] = "abuse"
    """``abuse``: a desk for abuse reports; ``registrar`` or ``organisation``: a general contact
    of the registrar or network owner, used only when no desk is known (ranked after them)."""


class Network(BaseModel):
    """The network that announces the hosting address."""

    model_config = _FROZEN

    name: RegistryText | None = None
    asn: Annotated[int, Field(ge=1, le=4_294_967_295)] | None = None
    prefix: Annotated[str, AfterValidator(_prefix)] | None = None


class Registrar(BaseModel):
    """The registrar of the URL's registered domain."""

    model_config = _FROZEN

    name: RegistryText | None = None
    iana_id: Annotated[int, Field(ge=1)] | None = None
    contacts: tuple[AbuseContact, ...] = ()


class Cdn(BaseModel):
    """A content delivery network or reverse proxy in front of the real host."""

    model_config = _FROZEN

    name: RegistryText | None = None
    contacts: tuple[AbuseContact, ...] = ()


class CaseUrl(BaseModel):
    """One confirmed URL of a case. The material itself is never part of the facts."""

    model_config = _FROZEN

    url: Annotated[str, Field(max_length=MAX_URL_LENGTH), _pattern(_URL, "URL")]
    """The URL as normalised at intake: printable ASCII, exactly what the host must act on."""
    display: Annotated[str, Field(max_length=MAX_URL_LENGTH + 64), _pattern(_DISPLAY_URL, "URL")]
    """The defanged form (``hxxp://example[.]bz/...``) used wherever a URL is shown to people."""
    confirmed_at: UtcDatetime
    content_sha256: Sha256Hex | None = None
    report_ids: tuple[Annotated[str, BeforeValidator(_report_id)], ...] = ()
    source: Annotated[str, _pattern(_SOURCE, "source code")] | None = None


class CaseFacts(BaseModel):
    """What routing and rendering need to know about one case."""

    model_config = _FROZEN

    case_id: Annotated[int, Field(ge=1)]
    reference: CaseReference
    """Printed in every subject, e.g. ``TD-000123``."""
    category: Annotated[str, _pattern(_CATEGORY, "category")]
    classification: XarfClassification = "baseline"
    hosting_country: CountryCode | None = None
    urls: Annotated[tuple[CaseUrl, ...], Field(min_length=1)]
    registered_domain: RegistryText | None = None
    network: Network | None = None
    host_contacts: tuple[AbuseContact, ...] = ()
    """Abuse contacts of the hosting network, best first."""
    registrar: Registrar | None = None
    cdn: Cdn | None = None
    hosting_unknown_behind_cdn: bool = False
    """The origin host hides behind the CDN, so the hosting country and contacts are unknown."""
    first_notice_at: UtcDatetime | None = None
    last_checked_at: UtcDatetime | None = None
    ticket: Ticket | None = None
    """The host's own ticket number for the case, from its acknowledgement."""


class NoticeItem(BaseModel):
    """What one notice says about one URL: the URL with the case facts it needs, flattened.

    A grouped notice carries items of several cases, so each item names its own case.
    """

    model_config = _FROZEN

    case_id: int
    reference: CaseReference
    category: str
    classification: XarfClassification
    url: str
    display: str
    confirmed_at: UtcDatetime
    content_sha256: str | None = None
    report_ids: tuple[str, ...] = ()
    source: str | None = None
    hosting_country: CountryCode | None = None
    registered_domain: str | None = None
    network_name: str | None = None
    asn: int | None = None
    prefix: str | None = None
    first_notice_at: UtcDatetime | None = None
    last_checked_at: UtcDatetime | None = None
    ticket: str | None = None


def notice_items(facts: CaseFacts) -> tuple[NoticeItem, ...]:
    """Flatten a case into one :class:`NoticeItem` per URL, in the case's URL order."""
    network = facts.network
    return tuple(
        NoticeItem(
            case_id=facts.case_id,
            reference=facts.reference,
            category=facts.category,
            classification=facts.classification,
            url=u.url,
            display=u.display,
            confirmed_at=u.confirmed_at,
            content_sha256=u.content_sha256,
            report_ids=u.report_ids,
            source=u.source,
            hosting_country=facts.hosting_country,
            registered_domain=facts.registered_domain,
            network_name=network.name if network else None,
            asn=network.asn if network else None,
            prefix=network.prefix if network else None,
            first_notice_at=facts.first_notice_at,
            last_checked_at=facts.last_checked_at,
            ticket=facts.ticket,
        )
        for u in facts.urls
    )
