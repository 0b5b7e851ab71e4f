"""The organisations a trace found (host, registrar, CDN) and their ranked abuse contacts.

An organisation is reused when the role, the name and the number registries know it by (the
ASN of a host, the IANA id of a registrar) match; its traced contacts are replaced by the latest
trace's, best first, while an analyst's ``override`` contacts stay. Registry data is hostile, so
every name and address is capped and checked before it is stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, text
from sqlalchemy.orm import Session

from hosting.trace import AbuseContact, HostingResult, rank_contacts
from registry.base import table_of
from registry.bulk.writes import insert_rows
from registry.models import Contact, Organisation
from registry.status import OrganisationRole

MAX_NAME = 255
MAX_SOURCE = 64
MAX_IANA_ID = 16
CHUNK = 1000
OVERRIDE_SOURCE = "override"
"""Contacts an analyst set by hand; a trace never removes them."""
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
ORGANISATIONS_LOCK = 0x7472_6163
"""PostgreSQL advisory lock held while organisations are looked up and created, so two
workers tracing the same new host create it once (the table has no unique key for it)."""


def clean_name(value: str | None, cap: int = MAX_NAME) -> str | None:
    """Registry text fit for a name column: control characters gone, trimmed, capped."""
    if not value:
        return None
    cleaned = " ".join(_CONTROL.sub(" ", value).split())[:cap]
    return cleaned or None


def clean_country(value: str | None) -> str | None:
    """An ISO 3166 alpha-2 code, or None for anything else a registry printed."""
    code = (value or "").strip().upper()
    return code if _COUNTRY.match(code) else None


@dataclass(frozen=True, slots=True)
class OrgKey:
    """What makes two sightings the same organisation."""

    role: OrganisationRole
    name: str
    asn: int | None = None
    iana_id: str | None = None


@dataclass(slots=True)
class Sighting:
    """An organisation as one batch saw it: where it is, and every contact it was given."""

    country: str | None
    contacts: list[AbuseContact] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CaseParties:
    """The organisations of one traced case (None where the trace found none)."""

    host: OrgKey | None
    registrar: OrgKey | None
    cdn: OrgKey | None


def parties_of(result: HostingResult) -> tuple[CaseParties, dict[OrgKey, Sighting]]:
    """The organisations a result names, with what it says of each.

    Behind a CDN the real host is unknown: the network found is the CDN's, so there is no host
    organisation, only the CDN."""
    seen: dict[OrgKey, Sighting] = {}
    host = registrar = cdn = None
    network = result.network
    if network is not None and result.cdn is None:
        name = clean_name(network.organisation or network.name)
        if name:
            host = OrgKey(OrganisationRole.HOST, name, asn=network.asn)
            seen[host] = Sighting(clean_country(network.country), list(network.abuse_contacts))
    if result.registrar is not None:
        name = clean_name(result.registrar.name)
        if name:
            iana = clean_name(result.registrar.iana_id, MAX_IANA_ID)
            registrar = OrgKey(OrganisationRole.REGISTRAR, name, iana_id=iana)
            seen[registrar] = Sighting(None, list(result.registrar.abuse_contacts))
    if result.cdn is not None:
        name = clean_name(result.cdn.provider.name)
        if name:
            cdn = OrgKey(OrganisationRole.CDN, name)
            country = clean_country(network.country) if network is not None else None
            seen[cdn] = Sighting(country, result.cdn.provider.contacts())
    return CaseParties(host, registrar, cdn), seen


def ensure_organisations(
    session: Session, sightings: dict[OrgKey, Sighting], now: datetime
) -> dict[OrgKey, int]:
    """The id of every sighted organisation, creating the missing ones in bulk, and its traced
    contacts replaced by what this batch saw (ranked best first)."""
    if not sightings:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ORGANISATIONS_LOCK})
    ids = _existing(session, sightings)
    missing = [key for key in sightings if key not in ids]
    if missing:
        rows = [
            {
                "role": key.role,
                "name": key.name,
                "country": sightings[key].country,
                "asn": key.asn,
                "iana_id": key.iana_id,
                "language": None,
                "created_at": now,
            }
            for key in missing
        ]
        table = table_of(Organisation)
        created = session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
        ).all()
        ids.update({key: int(row[0]) for key, row in zip(missing, created, strict=True)})
    _replace_contacts(session, {ids[key]: s.contacts for key, s in sightings.items()}, now)
    return ids


def _existing(session: Session, sightings: dict[OrgKey, Sighting]) -> dict[OrgKey, int]:
    found: dict[OrgKey, int] = {}
    by_role: dict[OrganisationRole, list[str]] = {}
    for key in sightings:
        by_role.setdefault(key.role, []).append(key.name)
    for role, names in by_role.items():
        unique = sorted(set(names))
        for start in range(0, len(unique), CHUNK):
            rows = session.execute(
                select(Organisation.id, Organisation.name, Organisation.asn, Organisation.iana_id)
                .where(
                    Organisation.role == role, Organisation.name.in_(unique[start : start + CHUNK])
                )
                .order_by(Organisation.id)
            )
            for row in rows:
                key = OrgKey(
                    role,
                    row.name,
                    asn=row.asn if role is OrganisationRole.HOST else None,
                    iana_id=row.iana_id if role is OrganisationRole.REGISTRAR else None,
                )
                found.setdefault(key, int(row.id))  # the oldest wins if there are twins
    return {key: found[key] for key in sightings if key in found}


def _replace_contacts(
    session: Session, contacts: dict[int, Sequence[AbuseContact]], now: datetime
) -> None:
    org_ids = sorted(contacts)
    for start in range(0, len(org_ids), CHUNK):
        session.execute(
            delete(Contact).where(
                Contact.organisation_id.in_(org_ids[start : start + CHUNK]),
                Contact.source != OVERRIDE_SOURCE,
            )
        )
    rows: list[dict[str, Any]] = []
    for org_id in org_ids:
        for rank, contact in enumerate(rank_contacts(contacts[org_id]), start=1):
            rows.append(_contact_row(org_id, rank, contact, now))
    insert_rows(session, table_of(Contact), rows)


def _contact_row(org_id: int, rank: int, contact: AbuseContact, now: datetime) -> dict[str, Any]:
    return {
        "organisation_id": org_id,
        "email": contact.email,  # already validated and normalised by the hosting core
        "rank": rank,
        "source": (clean_name(contact.source, MAX_SOURCE) or "trace"),
        "confidence": f"{contact.confidence:.2f}",
        "note": clean_name(contact.how, 500),
        "seen_at": now,
    }


def merge_sightings(parts: Iterable[dict[OrgKey, Sighting]]) -> dict[OrgKey, Sighting]:
    """One sighting per organisation over a batch: the first country, every contact."""
    merged: dict[OrgKey, Sighting] = {}
    for part in parts:
        for key, sighting in part.items():
            known = merged.get(key)
            if known is None:
                merged[key] = Sighting(sighting.country, list(sighting.contacts))
            else:
                known.country = known.country or sighting.country
                known.contacts.extend(sighting.contacts)
    return merged
