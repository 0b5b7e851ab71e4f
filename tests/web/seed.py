"""A small, fully known world for the web tests, built with the registry models directly."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from functools import lru_cache

from sqlalchemy import Engine

from registry.db import unit_of_work
from registry.models import (
    Case,
    CaseEvent,
    Check,
    Contact,
    Evidence,
    Notice,
    Organisation,
    Partner,
    Report,
    Resolution,
    notice_cases,
)
from registry.status import (
    CaseStatus,
    CheckOutcome,
    EventKind,
    NoticeStatus,
    OrganisationRole,
    PartnerKind,
)
from registry.users import create_user, hash_password, issue_token

PASSWORD = "correct horse battery staple"
AGENCY = "nl-hotline"
OTHER_AGENCY = "gb-police"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@lru_cache(maxsize=1)
def password_hash() -> str:
    """Argon2 is slow on purpose; the tests hash the shared password once."""
    return hash_password(PASSWORD)


@dataclass
class World:
    ours: int  # a case referred to AGENCY
    theirs: int  # a case referred to OTHER_AGENCY only
    unreferred: int  # a case referred to nobody
    tokens: dict[str, str] = field(default_factory=dict)
    hosts: dict[int, str] = field(default_factory=dict)

    def reference(self, case_id: int) -> str:
        return f"TD-{case_id:06d}"


def notice_message(reference: str, url: str, recipient: str) -> str:
    message = EmailMessage()
    message["From"] = "notices@hotline.example"
    message["To"] = recipient
    message["Subject"] = f"[{reference}] Child sexual abuse material referral"
    message["Message-ID"] = f"<notice.{reference}@hotline.example>"
    message.set_content(f"Please act on {url} (case {reference}).\n")
    message.add_alternative(
        f"<html><body><p>Please act on <code>{url}</code> (case {reference}).</p>"
        "<img src='http://tracker.example/pixel.png'></body></html>",
        subtype="html",
    )
    return message.as_string()


def _case(session, number: int, host: str, status: CaseStatus, country: str) -> Case:  # type: ignore[no-untyped-def]
    url = f"http://{host}/gallery/{number}.html"
    case = Case(
        url=url,
        url_sha256=hashlib.sha256(url.encode()).hexdigest(),
        display_url=f"hxxp://{host.replace('.', '[.]')}/gallery/{number}.html",
        host=host,
        registrable_domain=host,
        status=status,
        is_open=status.is_open,
        category="A",
        confirmed_at=T0,
        opened_at=T0 + timedelta(minutes=1),
        hosting_country=country,
        hosting_network=f"{host.split('.')[0].upper()}-NET",
        hosting_asn=64500 + number,
        traced_at=T0 + timedelta(minutes=5),
    )
    session.add(case)
    session.flush()
    session.add(
        Report(
            source="bz",
            report_id=f"bz-{number}",
            case_id=case.id,
            url=url,
            confirmed_at=T0,
            category="A",
        )
    )
    session.add_all(
        [
            CaseEvent(
                case_id=case.id,
                at=T0 + timedelta(minutes=1),
                kind=EventKind.OPENED,
                to_status=CaseStatus.NEW,
                actor="intake",
                reason=f"report bz/bz-{number}",
            ),
            CaseEvent(
                case_id=case.id,
                at=T0 + timedelta(minutes=5),
                kind=EventKind.TRANSITION,
                from_status=CaseStatus.TRACING,
                to_status=CaseStatus.TRACED,
                actor="flow:trace",
                reason="hosting network found",
            ),
        ]
    )
    resolution = Resolution(
        case_id=case.id,
        resolved_at=T0 + timedelta(minutes=5),
        ok=True,
        result={
            "url": url,
            "host": host,
            "network": {
                "asn": 64500 + number,
                "prefix": "192.0.2.0/24",
                "name": "EXAMPLE-NET",
                "country": country,
                "abuse_contacts": [f"abuse@{host}"],
                "source": "rdap",
            },
            "registrar": {
                "name": "Example Registrar",
                "iana_id": "9999",
                "abuse_contacts": ["abuse@registrar.example"],
                "source": "rdap",
            },
            "cdn": None,
            "hosting_country": country,
            "evidence": [],
            "errors": [],
        },
    )
    session.add(resolution)
    session.flush()
    raw = f"inetnum: 192.0.2.0 - 192.0.2.255\nnetname: EXAMPLE-NET\nabuse-mailbox: abuse@{host}\n"
    session.add(
        Evidence(
            resolution_id=resolution.id,
            kind="network-whois",
            server="whois.example",
            query="192.0.2.10",
            at=T0 + timedelta(minutes=4),
            sha256=hashlib.sha256(raw.encode()).hexdigest(),
            raw=raw,
        )
    )
    session.add(
        Check(
            case_id=case.id,
            at=T0 + timedelta(hours=6),
            outcome=CheckOutcome.PRESENT,
            http_status=200,
            address="192.0.2.10",
            sha256="cd" * 32,
            bytes_read=1234,
        )
    )
    organisation = Organisation(role=OrganisationRole.HOST, name=f"{host} hosting", country=country)
    session.add(organisation)
    session.flush()
    session.add(
        Contact(
            organisation_id=organisation.id,
            email=f"abuse@{host}",
            rank=0,
            source="rdap",
            confidence="high",
        )
    )
    case.host_organisation_id = organisation.id
    return case


def _refer(session, case: Case, partner: str, number: int) -> None:  # type: ignore[no-untyped-def]
    rendered = notice_message(case.reference, case.url, f"referrals@{partner}.example")
    notice = Notice(
        kind="hotline_referral",
        status=NoticeStatus.SENT,
        recipient_email=f"referrals@{partner}.example",
        recipient_name=partner,
        recipient_role="hotline",
        partner_code=partner,
        language="en",
        reason=f"hosted in a country where partner {partner} operates",
        subject=f"[{case.reference}] referral",
        message_id=f"<notice-{number}.{case.reference}@hotline.example>",
        rendered=rendered,
        rendered_sha256=hashlib.sha256(rendered.encode()).hexdigest(),
        xarf_json=json.dumps({"category": "content", "type": "csam", "url": case.url}),
        created_at=T0 + timedelta(minutes=10),
        sent_at=T0 + timedelta(minutes=11),
    )
    session.add(notice)
    session.flush()
    session.execute(notice_cases.insert().values(notice_id=notice.id, case_id=case.id))


def build_world(engine: Engine) -> World:
    """Three cases, two referred to different agencies, and one user (with a token) per role."""
    with unit_of_work(engine) as session:
        ours = _case(session, 1, "ours.example", CaseStatus.NOTIFIED, "NL")
        theirs = _case(session, 2, "theirs.example", CaseStatus.NOTIFIED, "GB")
        unreferred = _case(session, 3, "nobody.example", CaseStatus.TRACED, "US")
        _refer(session, ours, AGENCY, 1)
        _refer(session, theirs, OTHER_AGENCY, 2)
        session.add_all(
            [
                Partner(
                    code=AGENCY,
                    kind=PartnerKind.HOTLINE,
                    name="NL Hotline",
                    country="NL",
                    email="referrals@nl-hotline.example",
                ),
                Partner(
                    code=OTHER_AGENCY,
                    kind=PartnerKind.POLICE,
                    name="GB Police",
                    country="GB",
                    email="referrals@gb-police.example",
                ),
            ]
        )
        world = World(ours.id, theirs.id, unreferred.id)
        world.hosts = {ours.id: ours.host, theirs.id: theirs.host, unreferred.id: unreferred.host}
        for name, role, agency in (
            ("ana", "analyst", None),
            ("liz", "liaison", AGENCY),
            ("gus", "liaison", OTHER_AGENCY),
            ("adam", "admin", None),
            ("aude", "auditor", None),
        ):
            user = create_user(session, name, role, agency=agency)
            user.password_hash = password_hash()
            world.tokens[name] = issue_token(session, user)
    return world
