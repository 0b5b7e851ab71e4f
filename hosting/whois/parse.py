"""Reading port-43 WHOIS answers: referrals, refusals and domain records (addresses: whois_ip).

Pure functions over decoded text. The registrar name of an answer in the ICANN layout (one
``Registrar:`` line beside a ``Registrar IANA ID:``) is read directly; any other answer goes
through python-whois's parser (it knows 50+ registry formats, at a cost of milliseconds an
answer). Abuse desks come from our own line rules, which skip comment lines (``%``, ``#``): that
is where registries such as NIC México print notices like ``abuse@nic.mx``, which reach the
registry, not the registrar.

Many ccTLD registries print no abuse desk, only the registrar's own contact: AFNIC's separate
object opened by a ``registrar:`` line (.fr .re .pm .tf .wf .yt, and .sk likewise), ``registrar
email:`` (.pl), ``registrar_email:`` (.nz), ``Registrar Contact Information: Email:`` (.hk), an
unlabelled address under a ``Registrar:`` heading (.ch, .li, .pl). Those addresses are kept as
registrar contacts (:attr:`ContactKind.REGISTRAR`), ranked below every abuse desk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hosting.common.contacts import (
    EMAIL_IN_TEXT,
    Confidence,
    ContactCollector,
    ContactKind,
    rank_contacts,
)
from hosting.common.registrations import (
    RegistrarRecord,
    clean_country,
    clean_text,
)

DEFAULT_PARSE_CAP = 128 * 1024
_HOST = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)
_FIELD = re.compile(r"^\s*([A-Za-z][A-Za-z0-9 ._/()_-]{0,60}?)\s*(?:\.{2,}|:)\s?(.*)$")
_KEY_SEPARATORS = re.compile(r"[\s_.-]+")
_REFUSALS = (
    "rate limit exceeded",
    "query rate limit",
    "limit exceeded",
    "too many queries",
    "too many requests",
    "exceeded the maximum allowable",
    "please try again later",
)
_DENIALS = ("access denied", "not authorised", "not authorized", "blacklisted", "banned")
_NO_MATCH = ("no match", "not found", "no entries found", "no data found", "object does not exist")


@dataclass(frozen=True, slots=True)
class Referral:
    """A WHOIS server another server sent us to."""

    host: str
    port: int = 43


def _host_port(value: str) -> Referral | None:
    text = value.strip().lower()
    if "://" in text:
        scheme, _, text = text.partition("://")
        if scheme != "whois":
            return None  # rwhois:// and web links are not port-43 WHOIS
    text = text.split("/")[0].rstrip(".")
    host, _, port_text = text.partition(":")
    port = 43
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            return None
        port = int(port_text)
    return Referral(host, port) if _HOST.match(host) else None


def find_referral(text: str) -> Referral | None:
    """The next server named by an answer: IANA's ``refer:``/``whois:``, a thin registry's
    ``Registrar WHOIS Server:``, or an RIR's ``ReferralServer: whois://``.

    ``rwhois://`` referrals are ignored: that protocol is not port-43 WHOIS."""
    for line in text.splitlines()[:2000]:
        match = _FIELD.match(line)
        if not match:
            continue
        key, value = match.group(1).strip().lower(), match.group(2).strip()
        if key in ("refer", "whois", "registrar whois server", "referralserver") and value:
            referral = _host_port(value)
            if referral is not None:
                return referral
    return None


def refusal(text: str) -> tuple[str, bool] | None:
    """``(reason, retryable)`` when the answer is a refusal rather than a record, else None.

    Only short answers count: a real record can quote these words in its terms of use."""
    body = "\n".join(
        line
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith(("%", "#"))
    ).lower()
    whole = text.lower()
    if len(body) > 600 and len(whole) > 2000:
        return None
    for phrase in _REFUSALS:
        if phrase in whole:
            return ("rate limit: " + phrase, True)
    for phrase in _DENIALS:
        if phrase in whole:
            return ("refused: " + phrase, False)
    return None


def is_no_match(text: str) -> bool:
    """True when a short answer says the registry holds no such object."""
    head = text[:1500].lower()
    return any(p in head for p in _NO_MATCH) and len(text) < 3000


def _fields(text: str) -> list[tuple[str, str]]:
    """``(key, value)`` pairs of non-comment lines, keys lower case."""
    pairs = []
    for line in text.splitlines():
        if line.lstrip().startswith(("%", "#", ">>>")):
            continue
        match = _FIELD.match(line)
        if match:
            pairs.append((_key(match.group(1)), match.group(2).strip()))
    return pairs


_REGISTRAR_KEYS = (
    "registrar",
    "registrar name",
    "sponsoring registrar",
    "current registar",
    "current registrar",
    "registrar organization",
)


def _icann_registrar(fields: list[tuple[str, str]]) -> str | None:
    """The registrar of an answer in the ICANN layout (one ``Registrar:`` line beside a
    ``Registrar IANA ID:``), read directly: python-whois would read the same name, at many
    times the cost. None for any other layout."""
    names = [v for k, v in fields if k == "registrar"]
    if len(names) != 1 or not any(k == "registrar iana id" for k, _ in fields):
        return None
    return clean_text(names[0])


def _python_whois_registrar(domain: str, text: str, notes: list[str]) -> str | None:
    # Imported here: python-whois pulls in its whole registry table on import.
    import whois.parser

    try:
        entry = whois.parser.WhoisEntry.load(domain, text)
        value = entry.get("registrar")
    except Exception as exc:  # third-party parser on hostile text: any failure
        notes.append(f"python-whois could not parse the answer ({type(exc).__name__})")
        return None
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str) and v.strip()), None)
    return clean_text(value)


def _abuse_lines(text: str, collector: ContactCollector) -> None:
    lines = text.splitlines()
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith(("%", "#", ">>>")):
            continue
        match = _FIELD.match(line)
        if not match:
            continue
        key, value = match.group(1).strip().lower(), match.group(2).strip()
        if "abuse" not in key:
            continue
        if not value:
            # A block header ("Abuse Contact:") with the details on the indented lines after it.
            for follow in lines[index + 1 : index + 6]:
                if not follow.startswith((" ", "\t")) or not follow.strip():
                    break
                for found in EMAIL_IN_TEXT.findall(follow):
                    collector.offer(found, Confidence.NESTED_ABUSE_ROLE, f"'{key}' block")
            continue
        if "email" in key or "e-mail" in key or "mailbox" in key:
            confidence = Confidence.ABUSE_ROLE
        else:
            confidence = Confidence.ABUSE_ELSEWHERE
        for found in EMAIL_IN_TEXT.findall(value[:500]):
            collector.offer(found, confidence, f"'{key}' field")


_REGISTRAR_HEADINGS = ("registrar", "sponsoring registrar", "domain services provided by")
_REGISTRAR_MAIL_WORDS = ("email", "e mail", "mail", "contact")
_BLOCK_MAIL_KEYS = ("e mail", "email", "registrar email", "mail")
MAX_HEADING_LINES = 12


def _key(raw: str) -> str:
    """A field name as words: ``registrar_email`` and ``Registrar-Email`` read alike."""
    return _KEY_SEPARATORS.sub(" ", raw.strip().lower()).strip()


def _blocks(lines: list[str]) -> list[list[str]]:
    blocks: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def _registrar_contacts(text: str, collector: ContactCollector) -> None:
    """The registrar's own addresses, in the layouts ccTLD registries print them."""
    lines = [
        line for line in text.splitlines()[:3000] if not line.lstrip().startswith(("%", "#", ">>>"))
    ]
    for index, line in enumerate(lines):
        match = _FIELD.match(line)
        if not match:
            continue
        key, value = _key(match.group(1)), match.group(2).strip()
        if "abuse" in key:
            continue
        if value and key.startswith("registrar") and any(w in key for w in _REGISTRAR_MAIL_WORDS):
            # registrar email / registrar-email / registrar_email / Registrar Contact Information
            for found in EMAIL_IN_TEXT.findall(value[:500]):
                collector.general(found, ContactKind.REGISTRAR, f"'{key}' field")
        elif not value and key in _REGISTRAR_HEADINGS:
            # A heading with the registrar's details on the lines under it, up to a blank line.
            for follow in lines[index + 1 : index + 1 + MAX_HEADING_LINES]:
                if not follow.strip():
                    break
                for found in EMAIL_IN_TEXT.findall(follow[:500]):
                    collector.general(found, ContactKind.REGISTRAR, f"under the '{key}' heading")
    for block in _blocks(lines):
        # AFNIC (and .sk): the registrar is an object of its own, opened by a registrar line.
        first = _FIELD.match(block[0])
        if not first or _key(first.group(1)) != "registrar" or not first.group(2).strip():
            continue
        for line in block[1:40]:
            match = _FIELD.match(line)
            if match and _key(match.group(1)) in _BLOCK_MAIL_KEYS:
                for found in EMAIL_IN_TEXT.findall(match.group(2)[:500]):
                    collector.general(found, ContactKind.REGISTRAR, "the registrar's own object")


def parse_domain_whois(
    domain: str, text: str, server: str, *, cap: int = DEFAULT_PARSE_CAP
) -> RegistrarRecord:
    """Registrar name, IANA id and abuse desk of a domain from one WHOIS answer."""
    text = text[:cap]
    record = RegistrarRecord(source="whois", server=server, domain=domain)
    notes: list[str] = []
    fields = _fields(text)
    record.name = _icann_registrar(fields) or _python_whois_registrar(domain, text, notes)
    if record.name is None:
        record.name = next(
            (clean_text(v) for k, v in fields if k in _REGISTRAR_KEYS and clean_text(v)), None
        )
    record.iana_id = next(
        (v for k, v in fields if k == "registrar iana id" and v.isdigit() and len(v) < 12), None
    )
    record.registrant_country = next(
        (c for k, v in fields if k == "registrant country" and (c := clean_country(v))), None
    )
    collector = ContactCollector.for_source(f"whois:{server}")
    _abuse_lines(text, collector)
    general = ContactCollector.for_source(f"whois:{server}")
    _registrar_contacts(text, general)
    desks = {c.email for c in collector.contacts}
    own = [c for c in general.contacts if c.email not in desks]
    record.abuse_contacts = rank_contacts(collector.contacts + own)
    record.other_emails = list(dict.fromkeys(c.email for c in own))
    record.notes = notes + collector.notes + general.notes
    return record
