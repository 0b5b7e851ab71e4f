"""Record downloads, shared by the pages and the API. Each one is in the audit log first."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.responses import Response

from records.archive import sha256_hex
from records.bundle import timeline_csv
from records.cache import (
    BundleCache,
    begin_snapshot,
    bundle_cache,
    cached_bundle,
    kept_bundle,
    store_missing_pdfs,
)
from records.partner import partner_export
from records.signing import configured_key
from registry.audit import AuditAction, append
from registry.db import read_session, session_factory
from registry.queries import Forbidden, visible_case, visible_cases
from registry.users import Principal, Role
from web.config import WebState


def bundle_response(state: WebState, user: Principal, case_id: int, channel: str) -> Response:
    """The signed evidence ZIP of a case the user may see (from the bundle cache when the
    case's records have not changed since it was made for this user)."""
    config = state.config
    key, cache = _signing(config.signing_key, config.bundle_cache_dir, config.bundle_cache_mb)
    # A liaison officer's bundle holds their agency's notices only (unless configured).
    own = user.role is Role.LIAISON and not config.liaison_sees_all_notices
    agency = user.agency if own else None
    bundle = None
    if cache is not None:
        # The usual case, a bundle made before: one statement, no transaction.
        with read_session(state.engine) as reader:
            visible = visible_cases(user).whereclause
            bundle = kept_bundle(
                reader,
                case_id,
                key,
                created_by=user.name,
                cache=cache,
                visible=visible,
                agency=agency,
            )
    if bundle is None:
        if cache is not None:
            store_missing_pdfs(state.engine, case_id)
        with session_factory(state.engine)() as session:
            begin_snapshot(session)  # the visibility check, the version and the bundle: one view
            # Kept referenced: the bundle then finds the case in the session, not by a query.
            case = visible_case(session, user, case_id)
            bundle, _hit = cached_bundle(
                session, case_id, key, created_by=user.name, cache=cache, agency=agency
            )
            del case
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


@lru_cache(maxsize=4)
def _signing(
    key_text: str | None, folder: Path | None, megabytes: int
) -> tuple[Ed25519PrivateKey, BundleCache | None]:
    """The signing key and the bundle cache, read once per process (the key is parsed from
    text; a missing or unusable one raises, and is not remembered)."""
    key = configured_key(key_text)
    return key, bundle_cache(folder, megabytes, key) if folder is not None else None


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
