"""The lists partner ISPs block with: confirmed URLs not yet verified removed, and the domains
an analyst marked as wholly dedicated to abuse, as a DNS Response Policy Zone (RPZ).

The lists carry real, working URLs and domains (filters need them) and are sensitive: they are
never defanged, and never turned into links. Who may get them is the hotline's decision.

Which cases are listed: open cases whose content is confirmed and not known to be gone, that is
in a status of :data:`LISTED_STATUSES`. ``removed`` (verified gone, still watched), ``closed``
and ``withdrawn`` are not listed; ``reappeared`` and ``moved`` are. ``held`` cases (waiting for
law-enforcement deconfliction) are left out unless asked for: a list that leaves the hotline
could warn an operator the police are watching.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TextIO

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from registry import audit
from registry.base import utcnow
from registry.models import AbusiveDomain, AuditEntry, Case, case_reference
from registry.status import CaseStatus
from urls import InvalidURL, normalise_url

LISTED_STATUSES = frozenset(
    {
        CaseStatus.NEW,
        CaseStatus.TRACING,
        CaseStatus.TRACED,
        CaseStatus.TRACE_FAILED,
        CaseStatus.NOTIFIED,
        CaseStatus.MOVED,
        CaseStatus.REAPPEARED,
    }
)
"""Statuses whose URLs are blocked; ``held`` joins them only when asked for."""

CSV_COLUMNS = ("url", "first_confirmed", "category", "hosting_country", "case_reference")

DOMAIN_MARKED = "domain_marked"
DOMAIN_UNMARKED = "domain_unmarked"
"""Audit-log actions of changes to the marked domains; the RPZ serial follows them."""

MAX_DOMAIN_LENGTH = 190
MAX_ZONE_LENGTH = 60
"""Together with ``*.`` these keep every owner name of the zone under DNS's 253 characters."""

MAX_REASON_LENGTH = 2000
DEFAULT_RPZ_ZONE = "rpz.takedown."
_ZONE_NAME = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+$")
_DOMAIN_FORBIDDEN = re.compile(r"[/:@?#\[\]\\\s*]")
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")


class BlocklistFormat(StrEnum):
    CSV = "csv"
    TXT = "txt"
    RPZ = "rpz"


class InvalidJurisdiction(ValueError):
    """Not a two-letter country code."""


class InvalidDomain(ValueError):
    """Not a domain that can be blocked whole; the message says why."""


class DomainAlreadyMarked(ValueError):
    """The domain is marked already; unmark it first to change the reason."""


class DomainNotMarked(LookupError):
    """No mark exists for the domain."""


@dataclass(frozen=True, slots=True)
class BlockedURL:
    """One line of the URL list."""

    url: str
    first_confirmed: datetime
    category: str
    hosting_country: str | None
    case_reference: str


def jurisdiction_code(raw: str) -> str:
    """``raw`` as an upper-case ISO 3166 alpha-2 code, or :class:`InvalidJurisdiction`."""
    if not _COUNTRY.match(raw.strip()):
        raise InvalidJurisdiction(f"'{raw[:20]}' is not a two-letter country code such as BZ")
    return raw.strip().upper()


def blocked_urls(
    session: Session, *, jurisdiction: str | None = None, include_held: bool = False
) -> Iterator[BlockedURL]:
    """The URLs to block, oldest case first, streamed; optionally only those hosted in one
    country (its code, any case)."""
    statuses = LISTED_STATUSES | ({CaseStatus.HELD} if include_held else set())
    where: ColumnElement[bool] = (
        Case.hosting_country == jurisdiction_code(jurisdiction) if jurisdiction else true()
    )
    query = (
        select(Case.id, Case.url, Case.confirmed_at, Case.category, Case.hosting_country)
        .where(Case.is_open, Case.status.in_(statuses), where)
        .order_by(Case.id)
        .execution_options(yield_per=5000)
    )
    for case_id, url, confirmed_at, category, country in session.execute(query):
        yield BlockedURL(url, confirmed_at, category, country, case_reference(case_id))


def write_csv(entries: Iterable[BlockedURL], out: TextIO) -> int:
    """Write the CSV list (RFC 4180, with a header); return how many URLs."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for entry in entries:
        writer.writerow(
            (
                entry.url,
                entry.first_confirmed.astimezone(UTC).isoformat(),
                entry.category,
                entry.hosting_country or "",
                entry.case_reference,
            )
        )
        count += 1
    return count


def write_text(entries: Iterable[BlockedURL], out: TextIO) -> int:
    """Write one normalised URL per line; return how many."""
    count = 0
    for entry in entries:
        out.write(entry.url + "\n")
        count += 1
    return count


def render_blocklist(
    session: Session,
    fmt: BlocklistFormat,
    *,
    jurisdiction: str | None = None,
    include_held: bool = False,
    zone: str = DEFAULT_RPZ_ZONE,
) -> str:
    """The whole list in ``fmt`` as text (for a download). The RPZ holds the marked domains,
    whatever the jurisdiction."""
    if fmt is BlocklistFormat.RPZ:
        return rpz_zone(marked_domains(session), rpz_serial(session), zone=zone)
    out = io.StringIO()
    entries = blocked_urls(session, jurisdiction=jurisdiction, include_held=include_held)
    (write_csv if fmt is BlocklistFormat.CSV else write_text)(entries, out)
    return out.getvalue()


def normalise_domain(raw: str) -> str:
    """The ASCII (punycode), lower-case form of a domain that may be blocked whole.

    Refuses URLs, IP addresses, wildcards and public suffixes (``com``, ``co.uk``): blocking
    those would cut off everyone below them.
    """
    text = raw.strip().rstrip(".")
    if not text or _DOMAIN_FORBIDDEN.search(text):
        raise InvalidDomain(f"'{raw[:80]}' is not a bare domain name such as example.bz")
    try:
        parsed = normalise_url(f"http://{text}/")
    except InvalidURL as exc:
        raise InvalidDomain(f"'{raw[:80]}' is not a domain name: {exc}") from None
    if parsed.is_ip_literal:
        raise InvalidDomain(f"'{raw[:80]}' is an IP address; only domains are blocked whole")
    if parsed.registrable_domain is None:
        raise InvalidDomain(f"'{parsed.host}' is a public suffix; it cannot be blocked whole")
    if len(parsed.host) > MAX_DOMAIN_LENGTH:
        raise InvalidDomain(f"the domain is longer than {MAX_DOMAIN_LENGTH} characters")
    return parsed.host


def mark_domain(
    session: Session, domain: str, *, reason: str, actor: str, now: datetime | None = None
) -> AbusiveDomain:
    """Record that ``domain`` is wholly dedicated to abuse, by whom, when and why, in the table
    and in the audit log."""
    name = normalise_domain(domain)
    reason = reason.strip()
    if not reason:
        raise ValueError("a reason is required: say why the whole domain is abusive")
    if len(reason) > MAX_REASON_LENGTH:
        raise ValueError(f"the reason is longer than {MAX_REASON_LENGTH} characters")
    existing = session.get(AbusiveDomain, name)
    if existing is not None:
        raise DomainAlreadyMarked(
            f"{name} is marked already (by {existing.marked_by} at "
            f"{existing.marked_at:%Y-%m-%d %H:%M} UTC); unmark it first to change the reason"
        )
    now = now or utcnow()
    mark = AbusiveDomain(domain=name, marked_by=actor, marked_at=now, reason=reason)
    session.add(mark)
    audit.record(
        session, actor=actor, action=DOMAIN_MARKED, subject=name, detail={"reason": reason}, now=now
    )
    session.flush()
    return mark


def unmark_domain(
    session: Session, domain: str, *, actor: str, now: datetime | None = None
) -> AbusiveDomain:
    """Remove the mark of ``domain`` and record who did it and when in the audit log (which
    also moves the RPZ serial on); return the mark as it was."""
    name = normalise_domain(domain)
    mark = session.get(AbusiveDomain, name)
    if mark is None:
        raise DomainNotMarked(f"{name} is not marked")
    session.delete(mark)
    audit.record(
        session,
        actor=actor,
        action=DOMAIN_UNMARKED,
        subject=name,
        detail={
            "marked_by": mark.marked_by,
            "marked_at": mark.marked_at.isoformat(),
            "reason": mark.reason,
        },
        now=now,
    )
    session.flush()
    return mark


def marked_domains(session: Session) -> list[AbusiveDomain]:
    """Every marked domain, alphabetically."""
    return list(session.scalars(select(AbusiveDomain).order_by(AbusiveDomain.domain)))


def rpz_serial(session: Session) -> int:
    """The zone serial: the Unix time of the newest change to the marks (a mark, or an
    unmark in the audit log), so it grows with every change; 1 before any."""
    newest_mark = session.scalar(select(func.max(AbusiveDomain.marked_at)))
    newest_audit = session.scalar(
        select(func.max(AuditEntry.at)).where(
            AuditEntry.action.in_((DOMAIN_MARKED, DOMAIN_UNMARKED))
        )
    )
    instants = [_aware(at) for at in (newest_mark, newest_audit) if at is not None]
    return int(max(instants).timestamp()) if instants else 1


def rpz_zone(
    marks: Iterable[AbusiveDomain], serial: int, *, zone: str = DEFAULT_RPZ_ZONE, ttl: int = 300
) -> str:
    """An RPZ zone file that answers NXDOMAIN for each marked domain and every name below it.

    Loads in BIND (``response-policy``), Unbound (``rpz:``) and Knot Resolver. Reasons are not
    written: the file names domains, nothing more.
    """
    origin = zone.lower() if zone.endswith(".") else zone.lower() + "."
    if len(origin) > MAX_ZONE_LENGTH or not _ZONE_NAME.match(origin):
        raise ValueError(f"'{zone[:80]}' is not a usable zone name such as {DEFAULT_RPZ_ZONE}")
    if not 1 <= serial < 2**32:
        raise ValueError(f"an SOA serial is between 1 and 2^32 - 1, not {serial}")
    lines = [
        "; Takedown response policy zone: domains wholly dedicated to child sexual abuse.",
        "; SENSITIVE: for partner resolvers only. Do not publish.",
        f"$ORIGIN {origin}",
        f"$TTL {ttl}",
        f"@ IN SOA localhost. hostmaster.localhost. {serial} 3600 600 2419200 {ttl}",
        "@ IN NS localhost.",
    ]
    for mark in marks:
        # Re-checked: the table may have been written by something other than mark_domain.
        name = normalise_domain(mark.domain)
        lines += [f"{name} CNAME .", f"*.{name} CNAME ."]
    return "\n".join(lines) + "\n"


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at
