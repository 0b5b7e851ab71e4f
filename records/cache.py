"""Finished evidence bundles kept on disk, one file per version of a case's records.

Building a bundle reads about ten tables, zips, hashes and signs; liaison officers download the
same case again and again while nothing in it changes. A finished bundle is therefore kept in
``TAKEDOWN_BUNDLE_CACHE_DIR`` under a name made from:

- the case, the notices the bundle holds (all, or one agency's), who it is made for (the
  manifest names them), the signing key and the bundle format;
- the *records version*: a digest of every row the bundle is made of (the case, its reports,
  notices and their links and PDFs, resolutions and their evidence, events and checks). On
  PostgreSQL it is taken from each row's ``xmin`` (the transaction that last wrote it), so any
  insert, update or delete of one of them gives another version without reading the rows'
  contents; SQLite has no such column, so there the rows' contents are hashed.

The version and, on a miss, the bundle itself are read in one snapshot (``REPEATABLE READ`` on
PostgreSQL, one read transaction on SQLite), so a file is never kept under a version it was not
made from. A changed case is simply a name not seen before: nothing needs to be invalidated,
and stale files age out. Names are an HMAC of the key with a key derived from the signing key,
so a folder listing tells nothing of which cases exist. Files are written to a temporary name
and renamed into place: a reader sees a whole bundle or none, and two processes making the same
one at once both succeed. When the folder grows past its cap, the least recently used files
go first (a hit touches its file).

The cached bytes are the bundle as first made: its manifest names the time it was made and who
for, and it is byte for byte what that person received then; every download is audit-logged
by the caller as before, hit or miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import logging
import os
import tempfile
import time
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import ColumnElement, Engine, Select, literal_column, select
from sqlalchemy.orm import Session

from records.archive import MANIFEST, SIGNATURE, VERSION
from records.bundle import Bundle, build_bundle
from records.pdf import stored_pdfs
from records.signing import key_id
from registry.cases import CaseNotFound
from registry.db import session_factory
from registry.models import (
    Case,
    CaseEvent,
    Check,
    Evidence,
    Notice,
    NoticePdf,
    Report,
    Resolution,
    case_reference,
    notice_cases,
)

log = logging.getLogger(__name__)

SUFFIX = ".zip"
STALE_PART_SECONDS = 3600
"""A temporary file older than this was left by a writer that died; a listing removes it."""


@dataclass(frozen=True, slots=True)
class BundleCache:
    """The folder of finished bundles, and how much it may hold."""

    folder: Path
    max_bytes: int
    secret: bytes
    """Names files (an HMAC key); derived from the signing key by :func:`bundle_cache`."""

    def path(self, key: str) -> Path:
        name = hmac.new(self.secret, key.encode("utf-8"), hashlib.sha256).hexdigest()
        return self.folder / f"{name}{SUFFIX}"

    def get(self, key: str) -> bytes | None:
        """The bundle kept under ``key``, or None; marks it as just used."""
        path = self.path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:  # an unreadable folder: the bundle is built instead
            log.warning("bundle cache %s: %s", self.folder, error)
            return None
        with contextlib.suppress(OSError):  # evicted meanwhile: the bytes read are whole
            os.utime(path)
        return data

    def put(self, key: str, data: bytes) -> None:
        """Keep ``data`` under ``key`` (written whole, then renamed), then trim the folder.

        A folder that cannot be written (full, read-only, not a folder) is logged, not raised:
        the bundle in hand is whole and still goes to whoever asked for it."""
        if len(data) > self.max_bytes:
            return
        try:
            self._write(key, data)
        except OSError as error:
            log.warning("bundle cache %s: %s", self.folder, error)

    def _write(self, key: str, data: bytes) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # files are 0600 (mkstemp)
        target = self.path(key)
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        # The folder is listed only when it may be over its cap: by this process's reckoning
        # (its size at the last listing plus what it wrote since), or every so many writes,
        # for what other processes wrote meanwhile.
        seen = _seen.setdefault(self.folder, _Reckoning(writes=LIST_EVERY_WRITES))  # list it first
        seen.written += len(data)
        seen.writes += 1
        if seen.size + seen.written > self.max_bytes or seen.writes >= LIST_EVERY_WRITES:
            seen.size, seen.written, seen.writes = self.trim(), 0, 0

    def trim(self) -> int:
        """Remove the least recently used bundles until the folder is within its cap; returns
        the size of what is left."""
        entries: list[tuple[float, int, str]] = []
        total = 0
        with os.scandir(self.folder) as listing:
            for entry in listing:
                try:
                    stat = entry.stat()
                except FileNotFoundError:
                    continue
                if entry.name.startswith(".") and entry.name.endswith(".part"):
                    # Left by a process that died while writing it.
                    if stat.st_mtime < time.time() - STALE_PART_SECONDS:
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(entry.path)
                    continue
                if not entry.name.endswith(SUFFIX):
                    continue
                entries.append((stat.st_mtime, stat.st_size, entry.path))
                total += stat.st_size
        if total <= self.max_bytes:
            return total
        entries.sort()
        for _mtime, size, path in entries:
            with contextlib.suppress(FileNotFoundError):  # another process trimmed it
                os.unlink(path)
            total -= size
            if total <= self.max_bytes:
                break
        return total


LIST_EVERY_WRITES = 64


@dataclass(slots=True)
class _Reckoning:
    """What this process knows of a cache folder's size (updated without a lock: a lost
    update only makes the next listing come sooner or later)."""

    size: int = 0
    written: int = 0
    writes: int = 0


_seen: dict[Path, _Reckoning] = {}


def bundle_cache(folder: Path, max_megabytes: int, key: Ed25519PrivateKey) -> BundleCache | None:
    """The cache in ``folder`` holding up to ``max_megabytes``; None (no cache) for 0."""
    if max_megabytes <= 0:
        return None
    raw = key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    secret = hmac.new(raw, b"takedown bundle cache names", hashlib.sha256).digest()
    return BundleCache(folder, max_megabytes * 2**20, secret)


def begin_snapshot(session: Session) -> None:
    """Make every read of ``session``'s transaction from here on see one snapshot.

    Call before the session's first statement. PostgreSQL's default (READ COMMITTED) takes a
    snapshot per statement; SQLite's driver opens no transaction for reads at all.
    """
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    elif bind.dialect.name == "sqlite":
        # The driver begins transactions only before writes; an explicit BEGIN holds one read
        # snapshot until the session ends (its rollback ends it).
        session.connection().exec_driver_sql("BEGIN")


def cached_bundle(
    session: Session,
    case_id: int,
    key: Ed25519PrivateKey,
    *,
    created_by: str,
    cache: BundleCache | None,
    agency: str | None = None,
    now: datetime | None = None,
) -> tuple[Bundle, bool]:
    """The bundle of case ``case_id`` (see :func:`records.bundle.build_bundle`) and whether it
    came from ``cache``. The session must be in a snapshot (:func:`begin_snapshot`) that has
    already seen the case (the caller's visibility check) or nothing yet."""
    if cache is None:
        return build_bundle(
            session, case_id, key, created_by=created_by, now=now, agency=agency
        ), False
    version = records_version(session, case_id)
    if version is None:
        raise CaseNotFound(f"there is no case {case_id}")
    cache_key = _cache_key(session, key, case_id, version, agency, created_by)
    found = _kept(cache, cache_key, case_id)
    if found is not None:
        return found, True
    bundle = build_bundle(session, case_id, key, created_by=created_by, now=now, agency=agency)
    cache.put(cache_key, bundle.data)
    return bundle, False


def kept_bundle(
    session: Session,
    case_id: int,
    key: Ed25519PrivateKey,
    *,
    created_by: str,
    cache: BundleCache,
    visible: ColumnElement[bool] | None,
    agency: str | None = None,
) -> Bundle | None:
    """The bundle kept for the case's current records, found with one statement (the records
    version, under the reader's ``visible`` condition on ``Case``), or None if there is none
    (then :func:`cached_bundle` builds it). Raises :class:`CaseNotFound` for a case the reader
    may not see. PostgreSQL only: one statement is one snapshot there, with or without a
    transaction; elsewhere it returns None."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    version = records_version(session, case_id, visible)
    if version is None:
        raise CaseNotFound(f"there is no case {case_id}")
    return _kept(cache, _cache_key(session, key, case_id, version, agency, created_by), case_id)


def _cache_key(
    session: Session,
    key: Ed25519PrivateKey,
    case_id: int,
    version: str,
    agency: str | None,
    created_by: str,
) -> str:
    scope = "all" if agency is None else f"agency:{agency}"
    database = session.get_bind().engine.url.render_as_string(hide_password=True)
    parts = [f"v{VERSION}", key_id(key), database, str(case_id), version, scope, created_by]
    return "\x1f".join(parts)


def _kept(cache: BundleCache, cache_key: str, case_id: int) -> Bundle | None:
    data = cache.get(cache_key)
    if data is None:
        return None
    reference = case_reference(case_id)
    return Bundle(case_id, reference, f"{reference}-evidence.zip", data, _files(data))


def store_missing_pdfs(engine: Engine, case_id: int) -> None:
    """Render and store the PDFs that the case's notices lack, before a bundle's snapshot is
    taken. Made during the build, they would be rows that snapshot cannot see: the bundle
    would be kept under a version gone by the next download, and built a second time."""
    with session_factory(engine)() as session:
        missing = list(
            session.scalars(
                select(Notice)
                .join(notice_cases, notice_cases.c.notice_id == Notice.id)
                .outerjoin(NoticePdf, NoticePdf.notice_id == Notice.id)
                .where(
                    notice_cases.c.case_id == case_id,
                    Notice.rendered.is_not(None),
                    NoticePdf.notice_id.is_(None),
                )
            )
        )
        if missing:
            stored_pdfs(session, missing)


def _files(data: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return len([n for n in archive.namelist() if n not in (MANIFEST, SIGNATURE)])


def records_version(
    session: Session, case_id: int, visible: ColumnElement[bool] | None = None
) -> str | None:
    """A digest that changes whenever any row the bundle of ``case_id`` is made of does; None
    when there is no such case (or, with ``visible``, a condition on ``Case``, none the reader
    may see). Read in the caller's transaction; on PostgreSQL in one statement."""
    if session.get_bind().dialect.name == "postgresql":
        version = select(_XMIN_VERSION).select_from(Case).where(Case.id == case_id)
        if visible is not None:
            version = version.where(visible)
        found = session.execute(version).scalar()
        return str(found) if found is not None else None
    if (
        visible is not None
        and session.scalar(select(Case.id).where(Case.id == case_id, visible)) is None
    ):
        return None
    digest = hashlib.sha256()
    for label, query in _content_queries(case_id):
        rows = session.execute(query).all()
        if label == "case" and not rows:
            return None
        digest.update(f"{label}:{len(rows)}\n".encode())
        for row in rows:
            digest.update(repr(tuple(row)).encode("utf-8", "backslashreplace"))
            digest.update(b"\n")
    return digest.hexdigest()


# Per table, the (id, xmin) of each row the bundle reads, in a fixed order: a deleted row drops
# out of its list and a written one changes its xmin, so any change gives another digest.
_XMIN_VERSION: ColumnElement[str] = literal_column(
    """md5(cases.xmin::text || ':' || cases.url_sha256
        || '|r' || coalesce((SELECT string_agg(r.id || ':' || r.xmin::text, ',' ORDER BY r.id)
                             FROM reports r WHERE r.case_id = cases.id), '')
        || '|n' || coalesce((SELECT string_agg(n.id || ':' || n.xmin::text || ':'
                                               || nc.xmin::text || ':'
                                               || coalesce(p.xmin::text, '-'),
                                               ',' ORDER BY n.id)
                             FROM notice_cases nc
                             JOIN notices n ON n.id = nc.notice_id
                             LEFT JOIN notice_pdfs p ON p.notice_id = n.id
                             WHERE nc.case_id = cases.id), '')
        || '|s' || coalesce((SELECT string_agg(s.id || ':' || s.xmin::text || ':'
                                               || coalesce(ev.items, ''), ',' ORDER BY s.id)
                             FROM resolutions s
                             LEFT JOIN LATERAL (
                                 SELECT string_agg(e.id || '.' || e.xmin::text, '.'
                                                   ORDER BY e.id) AS items
                                 FROM evidence e WHERE e.resolution_id = s.id) ev ON true
                             WHERE s.case_id = cases.id), '')
        || '|e' || coalesce((SELECT string_agg(e.id || ':' || e.xmin::text, ',' ORDER BY e.id)
                             FROM case_events e WHERE e.case_id = cases.id), '')
        || '|k' || coalesce((SELECT string_agg(k.id || ':' || k.xmin::text, ',' ORDER BY k.id)
                             FROM checks k WHERE k.case_id = cases.id), ''))"""
)


def _content_queries(case_id: int) -> list[tuple[str, Select[tuple[object, ...]]]]:
    """Every row the bundle reads, whole, in a fixed order (SQLite's version)."""
    notice_ids = select(notice_cases.c.notice_id).where(notice_cases.c.case_id == case_id)
    resolution_ids = select(Resolution.id).where(Resolution.case_id == case_id)
    return [
        ("case", select(Case.__table__).where(Case.id == case_id)),
        ("reports", select(Report.__table__).where(Report.case_id == case_id).order_by(Report.id)),
        (
            "links",
            select(notice_cases)
            .where(notice_cases.c.case_id == case_id)
            .order_by(notice_cases.c.notice_id),
        ),
        ("notices", select(Notice.__table__).where(Notice.id.in_(notice_ids)).order_by(Notice.id)),
        (
            "pdfs",
            select(NoticePdf.__table__)
            .where(NoticePdf.notice_id.in_(notice_ids))
            .order_by(NoticePdf.notice_id),
        ),
        (
            "resolutions",
            select(Resolution.__table__)
            .where(Resolution.case_id == case_id)
            .order_by(Resolution.id),
        ),
        (
            "evidence",
            select(Evidence.__table__)
            .where(Evidence.resolution_id.in_(resolution_ids))
            .order_by(Evidence.id),
        ),
        (
            "events",
            select(CaseEvent.__table__).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id),
        ),
        ("checks", select(Check.__table__).where(Check.case_id == case_id).order_by(Check.id)),
    ]
