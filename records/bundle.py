"""The evidence bundle of one case: everything a liaison officer or a court needs, signed.

One ZIP per case (see :mod:`records.archive` for the format):

- ``case.json``: the case, its reports (without free-text notes) and an index of its notices;
- ``notices/notice-<id>.eml``: each notice exactly as sent (``Notice.rendered``);
- ``notices/notice-<id>.pdf``: the same notice, printable (its HTML part through WeasyPrint);
- ``notices/notice-<id>.xarf.json``: its X-ARF report(s), where it carried any;
- ``resolutions/resolution-<id>.json``: each hosting resolution with its evidence index;
- ``resolutions/resolution-<id>/evidence-<id>-<kind>.txt`` (or ``.bin``): each registry or DNS
  answer, its bytes exactly as received (``.bin`` when they are not UTF-8 text, as DNS wire
  format never is), checked against the SHA-256 taken when it was captured before anything is
  signed;
- ``timeline.csv``: case events and removal checks, in time order;
- ``manifest.json`` + ``manifest.sig``: each file's SHA-256, signed with Ed25519.

Nothing of the reported content is in a bundle: checks carry digests, never bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from records.archive import MANIFEST, BundleCheck, seal, sha256_hex, verify
from records.pdf import stored_pdfs
from records.spreadsheet import csv_bytes
from registry.audit import AuditAction, append
from registry.base import utcnow
from registry.cases import CaseNotFound
from registry.models import Case, CaseEvent, Check, Evidence, Notice, Report, Resolution
from registry.models import notice_cases as nc
from registry.referrals import addressed_to
from registry.tracing.store import evidence_bytes

_SAFE_KIND = re.compile(r"[^a-z0-9-]+")
_RESOLUTION_DOC = re.compile(r"resolutions/resolution-\d+\.json")

TIMELINE_HEADER = (
    "at",
    "type",
    "kind",
    "from_status",
    "to_status",
    "actor",
    "reason",
    "flow_run_id",
    "outcome",
    "http_status",
    "address",
    "sha256",
    "bytes_read",
    "error",
)


class EvidenceMismatch(ValueError):
    """Stored evidence no longer matches the digest taken when it was captured: the bundle is
    refused rather than signed."""


@dataclass(frozen=True, slots=True)
class Bundle:
    case_id: int
    reference: str
    filename: str
    data: bytes
    files: int


def build_bundle(
    session: Session,
    case_id: int,
    key: Ed25519PrivateKey,
    *,
    created_by: str,
    now: datetime | None = None,
    agency: str | None = None,
) -> Bundle:
    """The signed evidence bundle of case ``case_id``.

    With ``agency``, only the notices addressed to that agency go in (a liaison officer's
    bundle); ``case.json`` says which notices it holds. Raises :class:`CaseNotFound`, or
    :class:`EvidenceMismatch` (after an audit entry of its own) when an evidence item's bytes
    differ from its capture hash: nothing altered is signed.
    """
    now = now or utcnow()
    case = session.get(Case, case_id)
    if case is None:
        raise CaseNotFound(f"there is no case {case_id}")
    files: list[tuple[str, bytes]] = []
    notices_query = (
        select(Notice)
        .join(nc, nc.c.notice_id == Notice.id)
        .where(nc.c.case_id == case_id)
        .order_by(Notice.id)
    )
    if agency is not None:
        notices_query = notices_query.where(addressed_to(agency))
    notices = list(session.scalars(notices_query))
    pdfs = stored_pdfs(session, notices)
    notice_index = [_notice_files(notice, pdfs.get(notice.id), files) for notice in notices]
    resolutions = list(
        session.scalars(
            select(Resolution).where(Resolution.case_id == case_id).order_by(Resolution.id)
        )
    )
    evidence = _evidence_by_resolution(session, [r.id for r in resolutions])
    _refuse_altered(session, case, evidence, created_by)
    resolution_index = [_resolution_files(r, evidence.get(r.id, []), files) for r in resolutions]
    files.append(("timeline.csv", timeline_csv(session, case_id)))
    reports = session.scalars(select(Report).where(Report.case_id == case_id).order_by(Report.id))
    case_doc = {
        **case_json(case),
        "reports": [
            {
                "source": r.source,
                "report_id": r.report_id,
                "confirmed_at": _iso(r.confirmed_at),
                "category": r.category,
                "content_sha256": r.content_sha256,
            }
            for r in reports
        ],
        "notices_included": "all" if agency is None else f"addressed to {agency}",
        "notices": notice_index,
        "resolutions": resolution_index,
    }
    files.insert(0, ("case.json", _json_bytes(case_doc)))
    header = {
        "case": {"id": case.id, "reference": case.reference},
        "created_at": _iso(now),
        "created_by": created_by,
    }
    data = seal(files, header, key)
    return Bundle(case.id, case.reference, f"{case.reference}-evidence.zip", data, len(files))


def case_json(case: Case) -> dict[str, Any]:
    """The case's own fields, as recorded (the URL exactly and defanged)."""
    return {
        "id": case.id,
        "reference": case.reference,
        "url": case.url,
        "display_url": case.display_url,
        "host": case.host,
        "registrable_domain": case.registrable_domain,
        "status": case.status.value,
        "category": case.category,
        "content_sha256": case.content_sha256,
        "escalation_level": case.escalation_level,
        "hosting_country": case.hosting_country,
        "hosting_network": case.hosting_network,
        "hosting_asn": case.hosting_asn,
        "registrar": case.registrar_name,
        "cdn": case.cdn_name,
        "confirmed_at": _iso(case.confirmed_at),
        "opened_at": _iso(case.opened_at),
        "traced_at": _iso(case.traced_at),
        "first_notice_at": _iso(case.first_notice_at),
        "removal_verified_at": _iso(case.removal_verified_at),
        "closed_at": _iso(case.closed_at),
    }


def _notice_files(
    notice: Notice, pdf: bytes | None, files: list[tuple[str, bytes]]
) -> dict[str, Any]:
    stem = f"notices/notice-{notice.id}"
    names: list[str] = []
    if notice.rendered is not None:
        assert pdf is not None, "every notice with a stored message has its PDF"
        files.append((f"{stem}.eml", notice.rendered.encode("utf-8")))
        files.append((f"{stem}.pdf", pdf))
        names += [f"{stem}.eml", f"{stem}.pdf"]
    if notice.xarf_json is not None:
        files.append((f"{stem}.xarf.json", notice.xarf_json.encode("utf-8")))
        names.append(f"{stem}.xarf.json")
    return {
        "id": notice.id,
        "kind": notice.kind,
        "status": notice.status.value,
        "recipient_email": notice.recipient_email,
        "recipient_name": notice.recipient_name,
        "recipient_role": notice.recipient_role,
        "partner_code": notice.partner_code,
        "language": notice.language,
        "round": notice.round,
        "reason": notice.reason,
        "subject": notice.subject,
        "message_id": notice.message_id,
        "rendered_sha256": notice.rendered_sha256,
        "created_at": _iso(notice.created_at),
        "sent_at": _iso(notice.sent_at),
        "files": names,
    }


def _evidence_by_resolution(
    session: Session, resolution_ids: list[int]
) -> dict[int, list[Evidence]]:
    found: dict[int, list[Evidence]] = {}
    if not resolution_ids:
        return found
    for row in session.scalars(
        select(Evidence).where(Evidence.resolution_id.in_(resolution_ids)).order_by(Evidence.id)
    ):
        found.setdefault(row.resolution_id, []).append(row)
    return found


def _refuse_altered(
    session: Session, case: Case, evidence: dict[int, list[Evidence]], created_by: str
) -> None:
    """Raise :class:`EvidenceMismatch` naming every item whose bytes differ from its capture
    hash. A truncated item kept only the start of the answer its hash covers: it cannot be
    checked, and the bundle's evidence index says so (``truncated``)."""
    altered = [
        item
        for items in evidence.values()
        for item in items
        if not item.truncated and hashlib.sha256(_raw(item)).hexdigest() != item.sha256
    ]
    if not altered:
        return
    names = [
        f"evidence {item.id} of resolution {item.resolution_id} ({item.kind} answer from "
        f"{item.server} for {item.query!r}, captured {_iso(item.at)})"
        for item in altered
    ]
    bind = session.get_bind()
    append(
        bind if isinstance(bind, Engine) else bind.engine,
        actor=created_by,
        action=AuditAction.EXPORT_REFUSED,
        subject=case.reference,
        detail={"what": "evidence_bundle", "altered_evidence": [item.id for item in altered]},
    )
    raise EvidenceMismatch(
        f"{case.reference}: refused to sign the evidence bundle: "
        + "; ".join(names)
        + (" no longer matches" if len(names) == 1 else " no longer match")
        + " the SHA-256 recorded when it was captured"
    )


def _raw(item: Evidence) -> bytes:
    return evidence_bytes(item.raw)


def _resolution_files(
    resolution: Resolution, evidence: list[Evidence], files: list[tuple[str, bytes]]
) -> dict[str, Any]:
    stem = f"resolutions/resolution-{resolution.id}"
    entries = []
    for item in evidence:
        kind = _SAFE_KIND.sub("-", item.kind.lower()).strip("-") or "answer"
        data = _raw(item)
        path = f"{stem}/evidence-{item.id}-{kind}.{'txt' if _is_text(data) else 'bin'}"
        files.append((path, data))
        entries.append(
            {
                "id": item.id,
                "kind": item.kind,
                "server": item.server,
                "query": item.query,
                "at": _iso(item.at),
                "sha256": item.sha256,
                "truncated": item.truncated,
                "file_sha256": hashlib.sha256(data).hexdigest(),
                "file": path,
            }
        )
    document = {
        "id": resolution.id,
        "resolved_at": _iso(resolution.resolved_at),
        "ok": resolution.ok,
        "flow_run_id": resolution.flow_run_id,
        "result": resolution.result,
        "evidence": entries,
    }
    files.append((f"{stem}.json", _json_bytes(document)))
    return {"id": resolution.id, "ok": resolution.ok, "file": f"{stem}.json"}


def _is_text(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return "\x00" not in text


def verify_bundle(data: bytes, public_key: Ed25519PublicKey) -> BundleCheck:
    """Check a bundle as :func:`records.archive.verify` does, then, for bundles of format
    version 2 on, every evidence file against the capture hash its resolution's index lists
    (a truncated answer's hash covers more than was kept, so it is skipped)."""
    check = verify(data, public_key)
    if not check.ok:
        return check
    problems = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if int(json.loads(archive.read(MANIFEST)).get("version", 1)) < 2:
            return check
        names = set(archive.namelist())
        for name in sorted(n for n in names if _RESOLUTION_DOC.fullmatch(n)):
            for entry in json.loads(archive.read(name)).get("evidence", []):
                path = entry.get("file")
                if entry.get("truncated") or path not in names:
                    continue
                if sha256_hex(archive.read(path)) != entry.get("sha256"):
                    problems.append(
                        f"{path}: its bytes differ from the SHA-256 taken when it was captured "
                        f"(listed in {name})"
                    )
    return dataclasses.replace(check, problems=tuple(problems)) if problems else check


def timeline_csv(session: Session, case_id: int) -> bytes:
    """The case's events and removal checks as CSV, oldest first."""
    rows: list[tuple[datetime, int, tuple[object, ...]]] = []
    for event in session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
    ):
        rows.append(
            (
                event.at,
                0,
                (
                    _iso(event.at),
                    "event",
                    event.kind.value,
                    event.from_status.value if event.from_status else "",
                    event.to_status.value if event.to_status else "",
                    event.actor,
                    event.reason,
                    event.flow_run_id,
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                ),
            )
        )
    for check in session.scalars(
        select(Check).where(Check.case_id == case_id).order_by(Check.at, Check.id)
    ):
        rows.append(
            (
                check.at,
                1,
                (
                    _iso(check.at),
                    "check",
                    "probe",
                    "",
                    "",
                    "",
                    "",
                    check.flow_run_id,
                    check.outcome.value,
                    check.http_status,
                    check.address,
                    check.sha256,
                    check.bytes_read,
                    check.error,
                ),
            )
        )
    rows.sort(key=lambda row: (row[0], row[1]))
    return csv_bytes(TIMELINE_HEADER, (row[2] for row in rows))


def _json_bytes(value: Any) -> bytes:
    # Compact: the standard library's fast encoder is used only without indentation.
    return json.dumps(value, ensure_ascii=False, default=str).encode() + b"\n"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
