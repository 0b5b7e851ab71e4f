"""E-mail addresses and domains that may appear in a mail header.

Abuse contacts come from WHOIS and RDAP, which are hostile input: an "address" can carry CR/LF,
display names, comments, quoted local parts or kilobytes of junk. Only the plain ``local@domain``
form that every abuse desk uses is accepted here; everything else is refused with a reason, so no
header is ever built from text this module has not passed.

The rules are deliberately narrower than RFC 5322: a dot-atom local part of at most 64 characters
(no quoted strings, no comments), an ASCII domain (IDNs in punycode) of LDH labels with at least two
labels, and a total length of at most 254 characters (RFC 5321 path limit minus the brackets).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

MAX_ADDRESS_LENGTH = 254
MAX_LOCAL_PART_LENGTH = 64
MAX_DOMAIN_LENGTH = 253

# The part of RFC 5322 atext that real abuse mailboxes use; the rest ("!", "#", "{", "|", ...) is
# legal but in registry data only ever seen in attempts to confuse a parser.
_LOCAL_PART = re.compile(r"^[A-Za-z0-9+_=-]+(?:\.[A-Za-z0-9+_=-]+)*$")
_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TLD = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")


class InvalidAddress(ValueError):
    """The text is not a plain ``local@domain`` address we are willing to put in a header."""


@dataclass(frozen=True, slots=True)
class Mailbox:
    """A validated address, split into its parts; ``domain`` is lower case."""

    local_part: str
    domain: str

    @property
    def address(self) -> str:
        """The address as it goes into ``To:`` or the SMTP envelope."""
        return f"{self.local_part}@{self.domain}"


def validate_domain(text: str) -> str:
    """Return ``text`` as a lower-case ASCII domain name, or raise :class:`InvalidAddress`.

    Promises: at least two labels, each 1-63 LDH characters not starting or ending with a hyphen,
    a top-level label that is alphabetic or punycode, at most 253 characters, no trailing dot.
    """
    if not isinstance(text, str):
        raise InvalidAddress("domain is not text")
    if len(text) > MAX_DOMAIN_LENGTH:
        raise InvalidAddress(f"domain longer than {MAX_DOMAIN_LENGTH} characters")
    domain = text.lower()
    labels = domain.split(".")
    if len(labels) < 2:
        raise InvalidAddress("domain needs at least two labels")
    for label in labels:
        if not _DOMAIN_LABEL.match(label):
            raise InvalidAddress("domain label is empty, too long or not letters/digits/hyphens")
    if not _TLD.match(labels[-1]):
        raise InvalidAddress("top-level label is not alphabetic or punycode")
    return domain


@lru_cache(maxsize=4096)  # the same abuse desks recur in every batch
def parse_mailbox(text: str) -> Mailbox:
    """Validate ``text`` as a plain address and return it split, or raise :class:`InvalidAddress`.

    Leading and trailing spaces are tolerated (registries pad fields); anything else that is not
    part of a plain address, including any control character, is refused.
    """
    if not isinstance(text, str):
        raise InvalidAddress("address is not text")
    # Refuse before stripping: a CR/LF anywhere means the text was built to inject a header.
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        raise InvalidAddress("address contains a control character")
    candidate = text.strip(" ")
    if len(candidate) > MAX_ADDRESS_LENGTH:
        raise InvalidAddress(f"address longer than {MAX_ADDRESS_LENGTH} characters")
    local_part, at, domain = candidate.rpartition("@")
    if not at or not local_part:
        raise InvalidAddress("address has no local part and domain separated by '@'")
    if len(local_part) > MAX_LOCAL_PART_LENGTH:
        raise InvalidAddress(f"local part longer than {MAX_LOCAL_PART_LENGTH} characters")
    if not _LOCAL_PART.match(local_part):
        raise InvalidAddress("local part is not a plain dot-atom")
    return Mailbox(local_part=local_part, domain=validate_domain(domain))


def validate_address(text: str) -> str:
    """Return the plain address in ``text``, domain lower-cased; raise :class:`InvalidAddress`."""
    return parse_mailbox(text).address
