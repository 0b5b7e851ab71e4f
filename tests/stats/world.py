"""A small, fully known set of cases, notices and events with exact instants.

Every figure the statistics report can be counted by hand from this file; the tests do so.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from registry.db import unit_of_work
from registry.models import Case, CaseEvent, Notice, Organisation
from registry.status import CaseStatus, EventKind, NoticeStatus, OrganisationRole

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
"""When the cases of the period were confirmed."""
SINCE = datetime(2026, 10, 25, tzinfo=UTC)
OLD = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
"""When the one case before the period was confirmed."""
H = timedelta(hours=1)
M = timedelta(minutes=1)
BZ_HOST = "Belize Hosting Ltd"
KY_NET = "KY-NET-1"


@dataclass(frozen=True)
class Spec:
    url: str
    status: CaseStatus
    country: str | None = None
    host_org: bool = False
    network: str | None = None
    confirmed: datetime = T0
    to_notice: timedelta | None = None
    to_removal: timedelta | None = None
    reappeared: bool = False
    category: str = "A"


SPECS = [
    # Hosted in BZ by an organisation the directory knows.
    Spec("http://a.example.bz/1", CaseStatus.CLOSED, "BZ", True, None, T0, 1 * H, 3 * H),
    Spec("http://a.example.bz/2", CaseStatus.REMOVED, "BZ", True, None, T0, 2 * H, 5 * H),
    Spec("http://a.example.bz/3", CaseStatus.REMOVED, "BZ", True, None, T0, 4 * H, 1 * H, True),
    Spec("http://a.example.bz/4", CaseStatus.NOTIFIED, "BZ", True, None, T0, 3 * H),
    # Hosted in KY on a network known only by its name.
    Spec("http://b.example.ky/5", CaseStatus.REMOVED, "KY", False, KY_NET, T0, 30 * M, 24 * H),
    Spec(
        "http://b.example.ky/6",
        CaseStatus.REAPPEARED,
        "KY",
        False,
        KY_NET,
        T0,
        90 * M,
        48 * H,
        True,
        "B",
    ),
    # Not traced, held, withdrawn: no times.
    Spec("http://c.example.net/7", CaseStatus.NEW),
    Spec("http://c.example.net/8", CaseStatus.HELD, "BZ", True),
    Spec("http://c.example.net/9", CaseStatus.WITHDRAWN, "KY"),
    # Before the period: counted only without --since.
    Spec("http://old.example.bz/10", CaseStatus.REMOVED, "BZ", True, None, OLD, 10 * H, 10 * H),
]


def build(engine: Engine) -> list[int]:
    """Store the cases of :data:`SPECS` and their notices and events; return the case ids."""
    with unit_of_work(engine) as session:
        host = Organisation(role=OrganisationRole.HOST, name=BZ_HOST, country="BZ")
        session.add(host)
        session.flush()
        ids = []
        for spec in SPECS:
            first_notice = spec.confirmed + spec.to_notice if spec.to_notice else None
            removed = first_notice + spec.to_removal if first_notice and spec.to_removal else None
            case = Case(
                url=spec.url,
                url_sha256=hashlib.sha256(spec.url.encode()).hexdigest(),
                display_url=spec.url.replace("http", "hxxp").replace(".", "[.]"),
                host=spec.url.split("/")[2],
                status=spec.status,
                is_open=spec.status.is_open,
                category=spec.category,
                hosting_country=spec.country,
                hosting_network=spec.network or (BZ_HOST if spec.host_org else None),
                host_organisation_id=host.id if spec.host_org else None,
                confirmed_at=spec.confirmed,
                opened_at=spec.confirmed,
                first_notice_at=first_notice,
                removal_verified_at=removed,
            )
            session.add(case)
            session.flush()
            ids.append(case.id)
            if spec.reappeared:
                assert removed is not None
                session.add(
                    CaseEvent(
                        case_id=case.id,
                        at=removed + 6 * H,
                        kind=EventKind.TRANSITION,
                        from_status=CaseStatus.REMOVED,
                        to_status=CaseStatus.REAPPEARED,
                        actor="flow:recheck",
                    )
                )
        notices = [
            ("host_takedown", NoticeStatus.SENT, "abuse@bzhost.example", "host", T0 + H),
            ("host_takedown", NoticeStatus.SENT, "abuse@bzhost.example", "host", T0 + 2 * H),
            ("host_takedown", NoticeStatus.PENDING, "abuse@bzhost.example", "host", T0 + 3 * H),
            ("reminder", NoticeStatus.SENT, "abuse@bzhost.example", "host", T0 + 9 * H),
            ("host_takedown", NoticeStatus.SENT, "noc@kynet.example", "host", T0 + 30 * M),
            ("police_referral", NoticeStatus.FAILED, "unit@police.example", "police", T0),
            ("host_takedown", NoticeStatus.SENT, "abuse@bzhost.example", "host", OLD + 10 * H),
        ]
        for kind, status, email, role, created in notices:
            session.add(
                Notice(
                    kind=kind,
                    status=status,
                    recipient_email=email,
                    recipient_role=role,
                    recipient_name="Police unit" if role == "police" else None,
                    language="en",
                    reason="test",
                    created_at=created,
                )
            )
        return ids
