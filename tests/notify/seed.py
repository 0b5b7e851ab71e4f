"""Traced cases written straight into the registry, with resolutions in the shape of
``takedown resolve --json``, for the notify and delivery tests."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from registry.models import Case, Contact, Organisation, Report, Resolution
from registry.status import CaseStatus, OrganisationRole
from urls.normalise import normalise_url

MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
"""Inside the example directory's sending window (08:00-18:00 London, Monday)."""
SATURDAY = datetime(2026, 3, 7, 10, 0, tzinfo=UTC)
"""A quiet day in the example directory."""


@dataclass
class Hosting:
    """Who a seeded case's trace found."""

    country: str | None = "US"
    network: str | None = "Example Network"
    asn: int | None = 64500
    prefix: str | None = "192.0.2.0/24"
    host_emails: Sequence[str] = ("abuse@host.example",)
    registrar: str | None = "Example Registrar"
    registrar_emails: Sequence[str] = ("abuse@registrar.example",)
    cdn: str | None = None
    cdn_emails: Sequence[str] = ()
    overrides: dict[str, list[str]] = field(default_factory=dict)
    """Role (``host``, ``registrar``, ``cdn``) -> override addresses an analyst set."""
    registrar_contacts: Sequence[dict[str, Any]] | None = None
    """The registrar's contacts exactly as a trace printed them (instead of registrar_emails)."""


def _contacts(emails: Sequence[str]) -> list[dict[str, Any]]:
    return [
        {"email": e, "source": "rdap", "confidence": 0.9, "how": "abuse entity"} for e in emails
    ]


def resolution_result(url: str, host: str, domain: str | None, hosting: Hosting) -> dict[str, Any]:
    """A resolution result in the contract's shape."""
    network = None
    if hosting.network is not None:
        network = {
            "asn": hosting.asn,
            "prefix": hosting.prefix,
            "name": hosting.network,
            "organisation": hosting.network,
            "country": hosting.country,
            "abuse_contacts": _contacts(hosting.host_emails),
            "source": "rdap",
        }
    cdn = None
    if hosting.cdn is not None:
        cdn = {
            "name": hosting.cdn,
            "abuse_contacts": _contacts(hosting.cdn_emails),
            "matched_by": "cname",
            "real_host_known": False,
        }
    registrar = None
    if hosting.registrar is not None:
        registrar = {
            "name": hosting.registrar,
            "iana_id": "9999",
            "abuse_contacts": (
                list(hosting.registrar_contacts)
                if hosting.registrar_contacts is not None
                else _contacts(hosting.registrar_emails)
            ),
            "source": "rdap",
        }
    return {
        "url": url,
        "host": host,
        "registrable_domain": domain,
        "ips": ["192.0.2.10"],
        "cname_chain": [],
        "network": network,
        "registrar": registrar,
        "cdn": cdn,
        "hosting_country": None if cdn else hosting.country,
        "evidence": [],
        "errors": [],
    }


def _organisation(
    session: Session, role: OrganisationRole, name: str, overrides: Sequence[str]
) -> int:
    org = Organisation(role=role, name=name[:255])  # as tracing caps it; the result keeps all
    session.add(org)
    session.flush()
    for rank, email in enumerate(overrides, start=1):
        session.add(
            Contact(
                organisation_id=org.id,
                email=email,
                rank=rank,
                source="override",
                confidence="1.00",
            )
        )
    return org.id


def traced_case(
    session: Session,
    url: str,
    hosting: Hosting | None = None,
    *,
    status: CaseStatus = CaseStatus.TRACED,
    category: str = "A",
    report_id: str | None = None,
    sha256: str | None = None,
    **columns: Any,
) -> int:
    """A case in ``status`` (traced by default) with one report and one resolution."""
    hosting = hosting or Hosting()
    normalised = normalise_url(url)
    confirmed = MONDAY - timedelta(days=1)
    orgs: dict[str, int | None] = {}
    for role, name in (
        ("host", hosting.network if hosting.cdn is None else None),
        ("registrar", hosting.registrar),
        ("cdn", hosting.cdn),
    ):
        orgs[role] = (
            _organisation(session, OrganisationRole(role), name, hosting.overrides.get(role, []))
            if name
            else None
        )
    case = Case(
        url=normalised.url,
        url_sha256=hashlib.sha256(normalised.url.encode()).hexdigest(),
        display_url=normalised.display_url,
        host=normalised.host,
        registrable_domain=normalised.registrable_domain,
        status=status,
        is_open=status.is_open,
        category=category,
        content_sha256=sha256,
        confirmed_at=confirmed,
        opened_at=confirmed,
        hosting_country=None if hosting.cdn else hosting.country,
        hosting_network=hosting.network[:255] if hosting.network else None,
        registrar_name=hosting.registrar[:255] if hosting.registrar else None,
        cdn_name=hosting.cdn[:255] if hosting.cdn else None,
        host_organisation_id=orgs["host"],
        registrar_organisation_id=orgs["registrar"],
        cdn_organisation_id=orgs["cdn"],
        traced_at=confirmed,
        **columns,
    )
    session.add(case)
    session.flush()
    session.add(
        Report(
            source="bz",
            report_id=report_id or f"bz-{case.id}",
            case_id=case.id,
            url=normalised.url,
            confirmed_at=confirmed,
            category=category,
        )
    )
    result = resolution_result(
        normalised.url, normalised.host, normalised.registrable_domain, hosting
    )
    session.add(Resolution(case_id=case.id, ok=True, result=result, resolved_at=confirmed))
    session.flush()
    return case.id
