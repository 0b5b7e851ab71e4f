"""A partner's referral record: every notice addressed to one partner in a period, as CSV."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from records.spreadsheet import csv_bytes
from registry.models import Case, Notice, case_reference
from registry.models import notice_cases as nc

PARTNER_EXPORT_HEADER = (
    "notice_id",
    "created_at",
    "sent_at",
    "status",
    "kind",
    "partner_code",
    "recipient_email",
    "recipient_role",
    "language",
    "round",
    "subject",
    "message_id",
    "rendered_sha256",
    "reason",
    "case_references",
    "display_urls",
)
CHUNK = 1000


@dataclass(frozen=True, slots=True)
class PartnerExport:
    """One partner's referral record for ``[since, until)``, as CSV bytes."""

    partner: str
    since: datetime
    until: datetime
    notices: int
    data: bytes

    @property
    def audit_subject(self) -> str:
        return f"partner:{self.partner}"

    def audit_detail(self) -> dict[str, Any]:
        """What the audit log keeps of the export: the period, the count and the file's hash."""
        return {
            "what": "partner_export",
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "notices": self.notices,
            "sha256": hashlib.sha256(self.data).hexdigest(),
        }


def partner_export(
    session: Session, partner: str, since: datetime, until: datetime
) -> PartnerExport:
    """Notices to ``partner`` created in ``[since, until)``, oldest first, with their cases.

    URLs appear defanged: this is a record of what was referred, not a list to act on (the
    notices themselves, in the case bundles, carry the exact URLs).
    """
    notices = list(
        session.scalars(
            select(Notice)
            .where(
                Notice.partner_code == partner,
                Notice.created_at >= since,
                Notice.created_at < until,
            )
            .order_by(Notice.created_at, Notice.id)
        )
    )
    cases: dict[int, list[tuple[int, str]]] = defaultdict(list)
    ids = [n.id for n in notices]
    for start in range(0, len(ids), CHUNK):
        for notice_id, case_id, display_url in session.execute(
            select(nc.c.notice_id, Case.id, Case.display_url)
            .join(Case, Case.id == nc.c.case_id)
            .where(nc.c.notice_id.in_(ids[start : start + CHUNK]))
            .order_by(Case.id)
        ):
            cases[notice_id].append((case_id, display_url))
    rows = (
        (
            n.id,
            n.created_at.isoformat(),
            n.sent_at.isoformat() if n.sent_at else "",
            n.status.value,
            n.kind,
            n.partner_code,
            n.recipient_email,
            n.recipient_role,
            n.language,
            n.round,
            n.subject,
            n.message_id,
            n.rendered_sha256,
            n.reason,
            " ".join(case_reference(c) for c, _ in cases[n.id]),
            " ".join(url for _, url in cases[n.id]),
        )
        for n in notices
    )
    return PartnerExport(
        partner, since, until, len(notices), csv_bytes(PARTNER_EXPORT_HEADER, rows)
    )
