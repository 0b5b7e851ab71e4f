"""Registry rows as :class:`notices.facts.CaseFacts`: what routing and rendering know of a case.

The hosting side comes from the case's latest ``Resolution.result`` (the JSON contract of
``takedown resolve --json``), with an analyst's ``override`` contacts on the case's host,
registrar and CDN organisations ranked before whatever the registries published. Everything
from a registry is hostile text; :mod:`notices.facts` cleans and caps it on the way in, and
addresses are only validated when routing picks one.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notices.facts import (
    MAX_RAW_CONTACT_ADDRESS,
    AbuseContact,
    CaseFacts,
    CaseUrl,
    Cdn,
    Network,
    Registrar,
    XarfClassification,
    clean_text,
)
from registry.models import Case, Contact, DeadAddress, Report, Resolution
from urls import defang

OVERRIDE_SOURCE = "override"
"""Contacts an analyst set by hand: they come before every traced contact."""
MAX_CONTACTS = 20
"""Contacts kept per party: routing uses the first usable one; the rest is noise."""
CHUNK = 500

XARF_CLASSIFICATIONS: frozenset[str] = frozenset({"baseline", "A1", "A2", "B1", "B2"})
_SOURCE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
_ASN_MAX = 4_294_967_295


@dataclass(frozen=True, slots=True)
class FactsProblem:
    """A case whose rows cannot be turned into facts; the case needs an analyst."""

    case_id: int
    reason: str


def classification_for(category: str) -> XarfClassification:
    """The X-ARF ``content/csam`` classification of a report category.

    Categories that are X-ARF's own values (``baseline``, ``A1`` …) pass through; any other
    grade (the UK's A, B, C) is reported as ``baseline``, the one class X-ARF defines without a
    national grading.
    """
    if category in XARF_CLASSIFICATIONS:
        return cast(XarfClassification, category)
    return "baseline"


def _mapping(value: object) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None


def _contacts(raw: object) -> list[AbuseContact]:
    found: list[AbuseContact] = []
    for entry in raw if isinstance(raw, list) else []:
        data = _mapping(entry)
        email = data.get("email") if data else None
        kind = data.get("kind") if data else None
        if isinstance(email, str) and email:
            address = email[:MAX_RAW_CONTACT_ADDRESS]
            if kind in ("registrar", "organisation"):
                found.append(AbuseContact(address=address, kind=kind))
            else:
                found.append(AbuseContact(address=address))
    return found


def _ranked(
    overrides: Sequence[str], traced: Iterable[AbuseContact], dead: frozenset[str] = frozenset()
) -> tuple[AbuseContact, ...]:
    """Overrides first, then the traced contacts; addresses a permanent bounce showed dead
    are passed over, so routing takes the next in rank."""
    first = [AbuseContact(address=a[:MAX_RAW_CONTACT_ADDRESS]) for a in overrides]
    seen = {c.address.lower() for c in first}
    rest = [c for c in traced if c.address.lower() not in seen]
    return tuple(
        [c for c in [*first, *rest] if c.address.strip().lower() not in dead][:MAX_CONTACTS]
    )


def _asn(value: object) -> int | None:
    return value if isinstance(value, int) and 1 <= value <= _ASN_MAX else None


def _network(data: Mapping[str, Any] | None) -> Network | None:
    if data is None:
        return None
    name = data.get("organisation") or data.get("name")
    prefix = data.get("prefix")
    try:
        return Network(
            name=name if isinstance(name, str) and name else None,
            asn=_asn(data.get("asn")),
            prefix=prefix if isinstance(prefix, str) and prefix else None,
        )
    except ValidationError:
        # A prefix that is not one: keep the name and number, drop the rest.
        return Network(name=name if isinstance(name, str) and name else None)


def _iana_id(value: object) -> int | None:
    text = str(value).strip() if isinstance(value, str | int) else ""
    return int(text) if text.isdigit() and 0 < int(text) < 10**9 else None


@dataclass(frozen=True, slots=True)
class _Overrides:
    host: list[str]
    registrar: list[str]
    cdn: list[str]


def facts_from_rows(
    case: Case,
    reports: Sequence[Report],
    result: Mapping[str, Any] | None,
    overrides: _Overrides | None = None,
    dead: frozenset[str] = frozenset(),
) -> CaseFacts:
    """The facts of one case from its row, its reports and its latest resolution result.

    Raises :class:`pydantic.ValidationError` when a value the notices rely on is unusable.
    """
    chosen = overrides or _Overrides([], [], [])
    result = result or {}
    network_data = _mapping(result.get("network"))
    cdn_data = _mapping(result.get("cdn"))
    registrar_data = _mapping(result.get("registrar"))
    behind_cdn = cdn_data is not None
    host_contacts = (
        ()
        if behind_cdn
        else _ranked(chosen.host, _contacts((network_data or {}).get("abuse_contacts")), dead)
    )
    cdn = None
    if cdn_data is not None or chosen.cdn:
        cdn_data = cdn_data or {}
        name = cdn_data.get("name")
        cdn = Cdn(
            name=name if isinstance(name, str) and name else case.cdn_name,
            contacts=_ranked(chosen.cdn, _contacts(cdn_data.get("abuse_contacts")), dead),
        )
    registrar = None
    if registrar_data is not None or chosen.registrar:
        registrar_data = registrar_data or {}
        name = registrar_data.get("name")
        registrar = Registrar(
            name=name if isinstance(name, str) and name else case.registrar_name,
            iana_id=_iana_id(registrar_data.get("iana_id")),
            contacts=_ranked(
                chosen.registrar, _contacts(registrar_data.get("abuse_contacts")), dead
            ),
        )
    sources = [r.source for r in reports if _SOURCE.match(r.source or "")]
    url = CaseUrl(
        url=case.url,
        display=defang(case.url),
        confirmed_at=case.confirmed_at,
        content_sha256=case.content_sha256,
        report_ids=tuple(r.report_id for r in reports if r.report_id.strip()),
        source=sources[0] if sources else None,
    )
    country = case.hosting_country or result.get("hosting_country")
    return CaseFacts(
        case_id=case.id,
        reference=case.reference,
        category=case.category,
        classification=classification_for(case.category),
        hosting_country=None if behind_cdn or not isinstance(country, str) else country.upper(),
        urls=(url,),
        registered_domain=case.registrable_domain,
        network=_network(network_data),
        host_contacts=host_contacts,
        registrar=registrar,
        cdn=cdn,
        hosting_unknown_behind_cdn=behind_cdn,
        first_notice_at=case.first_notice_at,
        last_checked_at=case.last_check_at,
        ticket=case.ticket,
    )


def _override_addresses(session: Session, org_ids: set[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    ids = sorted(org_ids)
    for start in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(Contact.organisation_id, Contact.email)
            .where(
                Contact.organisation_id.in_(ids[start : start + CHUNK]),
                Contact.source == OVERRIDE_SOURCE,
            )
            .order_by(Contact.organisation_id, Contact.rank, Contact.id)
        )
        for org_id, email in rows:
            found[org_id].append(email)
    return found


def _of(overrides: Mapping[int, list[str]], org_id: int | None) -> list[str]:
    return list(overrides.get(org_id, [])) if org_id is not None else []


def _latest_results(session: Session, case_ids: Sequence[int]) -> dict[int, Mapping[str, Any]]:
    latest = (
        select(Resolution.case_id, func.max(Resolution.id).label("id"))
        .where(Resolution.case_id.in_(case_ids))
        .group_by(Resolution.case_id)
        .subquery()
    )
    rows = session.execute(
        select(Resolution.case_id, Resolution.result).join(latest, Resolution.id == latest.c.id)
    )
    return {case_id: result for case_id, result in rows if isinstance(result, Mapping)}


def dead_addresses(session: Session, candidates: Iterable[str] | None = None) -> frozenset[str]:
    """The lower-cased addresses known dead (among ``candidates`` when given)."""
    if candidates is None:
        return frozenset(session.scalars(select(DeadAddress.email)))
    wanted = sorted({c.strip().lower() for c in candidates})
    found: set[str] = set()
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        found.update(session.scalars(select(DeadAddress.email).where(DeadAddress.email.in_(chunk))))
    return frozenset(found)


def _addresses_in(result: Mapping[str, Any] | None) -> list[str]:
    found: list[str] = []
    for part in ("network", "registrar", "cdn"):
        data = _mapping((result or {}).get(part))
        found += [c.address for c in _contacts((data or {}).get("abuse_contacts"))]
    return found


def load_case_facts(session: Session, cases: Sequence[Case]) -> dict[int, CaseFacts | FactsProblem]:
    """The facts of each case (keyed by id), or why they could not be made. Addresses known
    dead are left out of every party's contacts."""
    facts: dict[int, CaseFacts | FactsProblem] = {}
    for start in range(0, len(cases), CHUNK):
        chunk = cases[start : start + CHUNK]
        ids = [c.id for c in chunk]
        reports: dict[int, list[Report]] = defaultdict(list)
        for report in session.scalars(
            select(Report).where(Report.case_id.in_(ids)).order_by(Report.id)
        ):
            reports[report.case_id].append(report)
        results = _latest_results(session, ids)
        org_ids = {
            org
            for c in chunk
            for org in (c.host_organisation_id, c.registrar_organisation_id, c.cdn_organisation_id)
            if org is not None
        }
        overrides = _override_addresses(session, org_ids)
        dead = dead_addresses(
            session,
            [a for r in results.values() for a in _addresses_in(r)]
            + [a for found in overrides.values() for a in found],
        )

        for case in chunk:
            chosen = _Overrides(
                _of(overrides, case.host_organisation_id),
                _of(overrides, case.registrar_organisation_id),
                _of(overrides, case.cdn_organisation_id),
            )
            try:
                facts[case.id] = facts_from_rows(
                    case, reports[case.id], results.get(case.id), chosen, dead
                )
            except (ValidationError, ValueError) as exc:
                first = str(exc).splitlines()
                detail = clean_text(" ".join(first[:3]), 300) if first else type(exc).__name__
                facts[case.id] = FactsProblem(case.id, f"case facts unusable: {detail}")
    return facts
