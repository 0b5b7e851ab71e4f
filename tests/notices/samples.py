"""Sample cases and notices shared by the notices tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from notices.facts import AbuseContact, CaseFacts, CaseUrl, Cdn, Network, Registrar, notice_items
from notices.kinds import Circumstance, NoticeKind, Role
from notices.routing import PlannedNotice

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DIRECTORY = REPO_ROOT / "notices" / "data" / "directory.example.yaml"
CONFIRMED = datetime(2026, 3, 2, 14, 5, tzinfo=UTC)


def make_case(
    case_id: int = 123,
    *,
    country: str | None = "US",
    urls: int = 2,
    host_name: str | bytes | None = "Hosting Example Inc.",
    host_address: str = "abuse@host.example",
    cdn: bool = False,
    hidden_origin: bool = False,
    registrar: bool = True,
    **extra: Any,
) -> CaseFacts:
    """A case with ``urls`` URLs; keyword arguments override CaseFacts fields."""
    items = tuple(
        CaseUrl(
            url=f"http://files.host.example/{case_id}/img{n}.jpg?session=a&b=1",
            display=f"hxxp://files[.]host[.]example/{case_id}/img{n}.jpg?session=a&b=1",
            confirmed_at=CONFIRMED,
            content_sha256=("ab" * 32) if n == 1 else None,
            report_ids=(f"bz-{case_id}-{n}",),
            source="bz",
        )
        for n in range(1, urls + 1)
    )
    fields: dict[str, Any] = {
        "case_id": case_id,
        "reference": f"TD-{case_id:06d}",
        "category": "csam",
        "hosting_country": country,
        "urls": items,
        "registered_domain": "host.example",
        "network": Network(name="Example Network", asn=64500, prefix="192.0.2.0/24"),
        # model_validate: a raw registry name may arrive as bytes in a broken encoding.
        "host_contacts": (
            AbuseContact.model_validate({"address": host_address, "name": host_name}),
        ),
        "registrar": Registrar(
            name="Example Registrar",
            iana_id=9999,
            contacts=(AbuseContact(address="abuse@registrar.example"),),
        )
        if registrar
        else None,
        "cdn": Cdn(name="Example CDN", contacts=(AbuseContact(address="abuse@cdn.example"),))
        if cdn or hidden_origin
        else None,
        "hosting_unknown_behind_cdn": hidden_origin,
        "first_notice_at": datetime(2026, 3, 3, 9, 0, tzinfo=UTC),
        "last_checked_at": datetime(2026, 3, 6, 9, 30, tzinfo=UTC),
    }
    fields.update(extra)
    return CaseFacts(**fields)


ROLE_OF = {
    NoticeKind.HOST_TAKEDOWN: Role.HOST,
    NoticeKind.REGISTRAR_SUSPENSION: Role.REGISTRAR,
    NoticeKind.REGISTRAR_UNTRACEABLE: Role.REGISTRAR,
    NoticeKind.CDN_REQUEST: Role.CDN,
    NoticeKind.HOTLINE_REFERRAL: Role.HOTLINE,
    NoticeKind.POLICE_REFERRAL: Role.POLICE,
    NoticeKind.REMINDER: Role.HOST,
    NoticeKind.ESCALATION: Role.HOST,
}
CIRCUMSTANCE_OF = {
    NoticeKind.REMINDER: Circumstance.REMINDER,
    NoticeKind.ESCALATION: Circumstance.ESCALATION,
    NoticeKind.REGISTRAR_UNTRACEABLE: Circumstance.UNTRACEABLE,
}


NAME_OF = {
    Role.HOST: "Example Network Ltd",
    Role.REGISTRAR: "Example Registrar",
    Role.CDN: "Example CDN",
    Role.HOTLINE: "Example MX Hotline",
    Role.POLICE: "Example MX Police Unit",
}


def sample_notice(kind: NoticeKind, language: str, *, name: str | None = None) -> PlannedNotice:
    """The notice the golden files pin: two URLs of one case, every optional fact present."""
    case = make_case(123, country="MX", urls=2)
    role = ROLE_OF[kind]
    return PlannedNotice(
        kind=kind,
        role=role,
        recipient_address="abuse@host.example",
        recipient_name=name or NAME_OF[role],
        language=language,
        circumstance=CIRCUMSTANCE_OF.get(kind, Circumstance.FIRST_ROUND),
        items=notice_items(case),
        hold=False,
        clearance_requested=kind is NoticeKind.POLICE_REFERRAL,
        reasons=("golden sample",),
    )
