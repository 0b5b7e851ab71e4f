"""Record downloads, shared by the pages and the API. Each one is in the audit log first."""

from __future__ import annotations

from datetime import datetime

from fastapi.responses import Response

from records.archive import sha256_hex
from records.bundle import build_bundle, timeline_csv
from records.partner import partner_export
from records.signing import configured_key
from registry.audit import AuditAction, append
from registry.db import session_factory
from registry.queries import Forbidden, visible_case
from registry.users import Principal, Role
from web.config import WebState


def bundle_response(state: WebState, user: Principal, case_id: int, channel: str) -> Response:
    """The signed evidence ZIP of a case the user may see."""
    key = configured_key(state.config.signing_key)
    with session_factory(state.engine)() as session:
        visible_case(session, user, case_id)
        # A liaison officer's bundle holds their agency's notices only (unless configured).
        own = user.role is Role.LIAISON and not state.config.liaison_sees_all_notices
        bundle = build_bundle(
            session, case_id, key, created_by=user.name, agency=user.agency if own else None
        )
    # Recorded before anything is sent; a short write of its own, after the reads.
    append(
        state.engine,
        actor=user.name,
        action=AuditAction.DOWNLOAD,
        subject=bundle.reference,
        detail={
            "what": "evidence_bundle",
            "via": channel,
            "sha256": sha256_hex(bundle.data),
            "bytes": len(bundle.data),
        },
    )
    return _attachment(bundle.data, "application/zip", bundle.filename)


def timeline_response(state: WebState, user: Principal, case_id: int) -> Response:
    with session_factory(state.engine)() as session:
        case = visible_case(session, user, case_id)
        reference = case.reference
        data = timeline_csv(session, case_id)
    append(
        state.engine,
        actor=user.name,
        action=AuditAction.DOWNLOAD,
        subject=reference,
        detail={"what": "timeline_csv", "sha256": sha256_hex(data)},
    )
    return _attachment(data, "text/csv; charset=utf-8", f"{reference}-timeline.csv")


def referrals_response(
    state: WebState, user: Principal, partner: str, since: datetime, until: datetime
) -> Response:
    """A partner's referral record; a liaison officer only ever gets their own agency's."""
    if user.role is Role.LIAISON:
        if partner != user.agency:
            raise Forbidden("you may download only your own agency's referrals")
    elif user.role is not Role.ANALYST:
        raise Forbidden("your role does not give access to referrals")
    with session_factory(state.engine)() as session:
        export = partner_export(session, partner, since, until)
    append(
        state.engine,
        actor=user.name,
        action=AuditAction.DOWNLOAD,
        subject=export.audit_subject,
        detail=export.audit_detail(),
    )
    stamp = f"{since:%Y%m%d}-{until:%Y%m%d}"
    return _attachment(export.data, "text/csv; charset=utf-8", f"referrals-{partner}-{stamp}.csv")


def _attachment(data: bytes, media_type: str, filename: str) -> Response:
    return Response(
        data,
        media_type=media_type,
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )
