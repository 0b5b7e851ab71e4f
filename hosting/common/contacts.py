"""Abuse contacts: validation, normalisation and ranking of addresses found in registry data.

Registry data is hostile input. An address reaches a notice only after :func:`normalise_email`
has accepted it: no control characters, one ``@``, a plain local part, a domain that is valid in
the DNS (IDN turned into punycode, lower case), RFC 5321 length limits. Anything else is dropped
with a note that says where it came from, never echoing the rejected text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import idna


class Confidence:
    """How much a contact is trusted, by how it was found; higher ranks first."""

    ABUSE_ROLE = 0.9
    """A dedicated abuse field or an RDAP entity with the ``abuse`` role."""
    NESTED_ABUSE_ROLE = 0.85
    """An abuse role one level down (e.g. under the registrant of a network)."""
    ABUSE_HANDLE = 0.75
    """The e-mail of the object an ``abuse-c`` handle points at."""
    ABUSE_ELSEWHERE = 0.7
    """An abuse mailbox somewhere else in the same answer."""
    CATALOGUE = 0.8
    """The abuse desk a CDN publishes, from the maintained catalogue."""
    ORGANISATION = 0.4
    """A general address of the responsible organisation (not an abuse desk)."""
    REGISTRAR_CONTACT = 0.35
    """The registrar's own general contact (not an abuse desk): reachable, but a last resort."""
    REMARKS = 0.3
    """An address in a free-text remark."""
    GUESS = 0.1
    """``abuse@`` of the organisation's domain: a last resort, never confirmed."""


MAX_ADDRESS = 254
MAX_LOCAL = 64
# RFC 5322 atext minus the characters template engines and shells treat specially ({ } | `):
# valid but never seen on an abuse desk, and safer never to carry into a notice.
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_~-]+)*$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
EMAIL_IN_TEXT = re.compile(r"[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z0-9-]{2,63}")
"""Finds candidate addresses in free text; every match still goes through normalise_email."""

REGISTRY_NOTICE_DOMAINS = frozenset(
    {
        # Registries print these in notices; they reach the registry, not a registrar's abuse desk.
        "nic.mx",
        "registro.br",
        "nic.br",
        "cert.br",
    }
)


class ContactKind:
    """What an address is for: an abuse desk, or a general contact that still reaches someone."""

    ABUSE = "abuse"
    """A desk that handles abuse reports (or a guess at one)."""
    REGISTRAR = "registrar"
    """The registrar's own contact: reaches the registrar, not its abuse desk."""
    ORGANISATION = "organisation"
    """A network owner's or maintainer's general address: reaches them, not an abuse desk."""


REGISTRAR_NOTE = "registrar contact, not an abuse desk"
ORGANISATION_NOTE = "organisation contact, not an abuse desk"


class InvalidAddress(ValueError):
    """The text is not a deliverable e-mail address we are willing to put in a notice."""


def normalise_email(raw: str) -> str:
    """Return ``raw`` as a safe address (domain lower case, IDN as punycode), or raise
    :class:`InvalidAddress` saying what is wrong (without repeating the input)."""
    if _CONTROL.search(raw):
        raise InvalidAddress("contains control characters (CR/LF or similar)")
    text = raw.strip().rstrip(".,;").strip().strip("<>").strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    text = text.rstrip(".")
    if len(text) > MAX_ADDRESS * 4:
        raise InvalidAddress("far too long")
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise InvalidAddress("not of the form local@domain")
    if len(local) > MAX_LOCAL or not _LOCAL.match(local):
        raise InvalidAddress("local part is empty, too long or has characters we do not send to")
    try:
        ascii_domain = idna.encode(domain.rstrip("."), uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError):
        raise InvalidAddress("domain is not a valid host name") from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise InvalidAddress("domain is not a valid host name")
    address = f"{local}@{ascii_domain}"
    if len(address) > MAX_ADDRESS:
        raise InvalidAddress("longer than 254 characters")
    return address


def email_domain(address: str) -> str:
    """The domain of an address already accepted by :func:`normalise_email`."""
    return address.rpartition("@")[2]


def is_registry_notice(address: str) -> bool:
    """True for addresses that registries print as notices (``abuse@nic.mx``), which are not a
    registrar's abuse desk."""
    domain = email_domain(address).lower()
    return any(domain == d or domain.endswith("." + d) for d in REGISTRY_NOTICE_DOMAINS)


@dataclass(frozen=True, slots=True)
class AbuseContact:
    """An address to notify, where it came from and how much we trust it."""

    email: str
    source: str
    """The source and server, e.g. ``rdap:rdap.arin.net`` or ``whois:whois.ripe.net``."""
    confidence: float
    how: str
    """How it was found, in words: ``"entity with role abuse under the registrar"``."""
    kind: str = ContactKind.ABUSE
    """A :class:`ContactKind`: an abuse desk, or a general contact kept apart from the desks."""

    @property
    def is_desk(self) -> bool:
        """True for an abuse desk (or a guess at one), False for a general contact."""
        return self.kind == ContactKind.ABUSE

    def to_json(self) -> dict[str, Any]:
        """The contact as printed by ``takedown resolve --json``."""
        return {
            "email": self.email,
            "source": self.source,
            "confidence": self.confidence,
            "how": self.how,
            "kind": self.kind,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AbuseContact:
        """Rebuild what :meth:`to_json` wrote."""
        kind = data.get("kind")
        known = (ContactKind.ABUSE, ContactKind.REGISTRAR, ContactKind.ORGANISATION)
        return cls(
            str(data["email"]),
            str(data["source"]),
            float(data["confidence"]),
            data["how"],
            kind if kind in known else ContactKind.ABUSE,
        )


@dataclass(slots=True)
class ContactCollector:
    """Gathers candidate addresses from one answer, keeping valid ones and notes on the rest."""

    source: str
    contacts: list[AbuseContact]
    notes: list[str]

    @classmethod
    def for_source(cls, source: str) -> ContactCollector:
        """An empty collector for answers from ``source``."""
        return cls(source, [], [])

    def offer(
        self, raw: object, confidence: float, how: str, kind: str = ContactKind.ABUSE
    ) -> str | None:
        """Add ``raw`` if it is a valid address; return the normalised address, or None."""
        if not isinstance(raw, str):
            return None
        try:
            address = normalise_email(raw)
        except InvalidAddress as exc:
            self.notes.append(f"dropped an address from {self.source} ({how}): {exc}")
            return None
        if is_registry_notice(address):
            self.notes.append(f"ignored a registry notice address from {self.source} ({how})")
            return None
        self.contacts.append(AbuseContact(address, self.source, confidence, how, kind))
        return address

    def general(self, raw: object, kind: str, where: str) -> str | None:
        """Add ``raw`` as a general contact of ``kind`` (registrar or organisation), marked as
        not an abuse desk, at the confidence of its kind."""
        if kind == ContactKind.REGISTRAR:
            return self.offer(
                raw, Confidence.REGISTRAR_CONTACT, f"{REGISTRAR_NOTE} ({where})", kind
            )
        return self.offer(raw, Confidence.ORGANISATION, f"{ORGANISATION_NOTE} ({where})", kind)


def rank_contacts(contacts: Iterable[AbuseContact]) -> list[AbuseContact]:
    """One list, best first: duplicates (case-insensitively) keep their most trusted sighting."""
    best: dict[str, AbuseContact] = {}
    order: list[str] = []
    for contact in contacts:
        key = contact.email.lower()
        if key not in best:
            order.append(key)
            best[key] = contact
        elif contact.confidence > best[key].confidence:
            best[key] = contact
    ranked = [best[key] for key in order]
    ranked.sort(key=lambda c: -c.confidence)
    return ranked


def guessed_contact(domain: str, source: str) -> AbuseContact | None:
    """``abuse@domain`` marked as a guess (lowest confidence), or None if the domain is unusable."""
    try:
        address = normalise_email(f"abuse@{domain}")
    except InvalidAddress:
        return None
    return AbuseContact(address, source, Confidence.GUESS, f"guess: abuse@ of {domain}")
