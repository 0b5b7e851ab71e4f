"""Appending to the audit log: who signed in, downloaded records, changed a case or overrode a
contact.

Every entry carries the hash of the entry before it, so an entry edited, deleted or moved
afterwards breaks the chain at a place :func:`registry.audit.verify.verify_chain` can name. The
hash covers the canonical JSON of the entry's fields (sorted keys, no whitespace, UTC
timestamps in ISO 8601), so it is the same whichever backend stored the row. While
``TAKEDOWN_AUDIT_KEY`` is set, each entry also carries an HMAC of its hash under that key
(:mod:`registry.audit.key`): the hashes alone can be recomputed by anyone who can write the
database, the MACs only by the key's holder.

Appends are serialised: two writers must never both chain onto the same predecessor. On
PostgreSQL a transaction-scoped advisory lock does it; on SQLite the database's single write
lock does, taken before the predecessor is read. The entry commits with the caller's unit of
work, so a state change and its audit entry are stored together or not at all.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from registry.audit.key import configured_audit_key
from registry.base import utcnow
from registry.db import unit_of_work, writers_queue
from registry.models import AuditEntry

GENESIS_HASH = "0" * 64
"""What the first entry chains onto."""

ADVISORY_LOCK_KEY = 0x7A6B_0A0D
"""The PostgreSQL advisory lock that serialises appends (an arbitrary, fixed number)."""

MAX_SUBJECT = 255
MAX_ACTOR = 128


class AuditAction(StrEnum):
    """What an entry records."""

    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_OUT = "sign_out"
    DOWNLOAD = "download"
    EXPORT = "export"
    EXPORT_REFUSED = "export_refused"
    STATE_CHANGE = "state_change"
    CASES_OPENED = "cases_opened"
    OVERRIDE = "override"
    USER_CREATED = "user_created"
    USER_DISABLED = "user_disabled"
    USER_ENABLED = "user_enabled"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 (an action name, not a secret)
    ROLE_CHANGED = "role_changed"
    SESSIONS_ENDED = "sessions_ended"
    TOKEN_ISSUED = "token_issued"  # noqa: S105 (an action name, not a secret)
    HANDLED = "handled"
    """An analyst dealt with what a case or a received message needed them for."""


def entry_hash(
    *,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    detail: dict[str, Any],
    prev_hash: str,
) -> str:
    """The SHA-256 (hex) of an entry's canonical JSON; what the chain is made of."""
    canonical = json.dumps(
        {
            "at": utc_iso(at),
            "actor": actor,
            "action": action,
            "subject": subject,
            "detail": detail,
            "prev_hash": prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def record(
    session: Session,
    *,
    actor: str,
    action: AuditAction | str,
    subject: str,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditEntry:
    """Append one entry chained to the newest one; flush, leaving the commit to the caller.

    The caller's transaction holds the append lock until it commits, so keep it short.
    ``detail`` must be JSON-serialisable plain data (strings, numbers, booleans, lists, dicts).
    """
    fields = {"actor": actor, "action": action, "subject": subject, "detail": detail, "now": now}
    return _record_all(session, [fields])[0]


def _record_all(session: Session, entries: list[dict[str, Any]]) -> list[AuditEntry]:
    """Append ``entries`` (the keyword arguments of :func:`record`) in order, each chained to
    the one before: the lock is taken and the newest entry read once for all of them."""
    prev_hash = _lock_and_read_newest(session) or GENESIS_HASH
    key = configured_audit_key()
    written = []
    for entry in entries:
        # Round-tripped through JSON now, so the hash covers what the database will give back.
        clean_detail = json.loads(json.dumps(entry["detail"] or {}, ensure_ascii=False))
        fields = {
            "at": entry["now"] or utcnow(),
            "actor": entry["actor"][:MAX_ACTOR],
            "action": str(entry["action"]),
            "subject": entry["subject"][:MAX_SUBJECT],
            "detail": clean_detail,
            "prev_hash": prev_hash,
        }
        digest = entry_hash(**fields)
        row = AuditEntry(**fields, entry_hash=digest, entry_mac=key.mac(digest) if key else None)
        session.add(row)
        # Flushed one at a time: ids must follow the chain's order, as verification reads it.
        session.flush()
        written.append(row)
        prev_hash = digest
    return written


@dataclass(slots=True)
class _Pending:
    fields: dict[str, Any]
    done: threading.Event
    error: BaseException | None = None


class _GroupCommit:
    """Appends from many threads written together: whoever gets the lock writes everyone's.

    Under load each request would otherwise hold the append lock for a transaction of its
    own, and the requests queue behind each other; a group commit writes the entries waiting
    at that moment in one transaction, in arrival order, and wakes their threads.
    """

    def __init__(self) -> None:
        self._waiting: dict[int, list[_Pending]] = {}
        self._waiting_lock = threading.Lock()
        self._commit_lock = threading.Lock()

    def append(self, engine: Engine, fields: dict[str, Any]) -> None:
        mine = _Pending(fields, threading.Event())
        with self._waiting_lock:
            self._waiting.setdefault(id(engine), []).append(mine)
        with self._commit_lock:
            if not mine.done.is_set():
                with self._waiting_lock:
                    batch = self._waiting.pop(id(engine), [])
                self._write(engine, batch)
        if mine.error is not None:
            raise mine.error

    @staticmethod
    def _write(engine: Engine, batch: list[_Pending]) -> None:
        try:
            with writers_queue(engine), unit_of_work(engine) as session:
                _record_all(session, [pending.fields for pending in batch])
        except BaseException as exc:
            for pending in batch:
                pending.error = exc
            raise
        finally:
            for pending in batch:
                pending.done.set()


_group_commit = _GroupCommit()


def append(
    engine: Engine,
    *,
    actor: str,
    action: AuditAction | str,
    subject: str,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    """Append one entry in a short transaction of its own; committed when this returns.

    For records of reads (sign-ins, downloads) that change nothing else. Concurrent calls in
    one process are committed together (see :class:`_GroupCommit`); raises if the write failed.
    """
    fields = {"actor": actor, "action": action, "subject": subject, "detail": detail, "now": now}
    _group_commit.append(engine, fields)


def _lock_and_read_newest(session: Session) -> str | None:
    """Take the append lock, then read the newest entry's hash (None for an empty log)."""
    if session.get_bind().dialect.name == "postgresql":
        # Both in one round trip: each statement of a multi-statement query takes its own
        # snapshot (READ COMMITTED), so the read sees every entry committed before the lock
        # was granted. The lock is held for the round trips of the batch that follow.
        found = session.execute(_LOCK_AND_READ, {"key": ADVISORY_LOCK_KEY}).scalar()
        return str(found) if found is not None else None
    _lock_appends(session)
    return session.scalar(select(AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1))


_LOCK_AND_READ = text(
    "SELECT pg_advisory_xact_lock(:key); SELECT entry_hash FROM audit_log ORDER BY id DESC LIMIT 1"
)


def _lock_appends(session: Session) -> None:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    elif dialect == "sqlite":
        # A write statement takes SQLite's write lock (waiting up to busy_timeout), so the
        # newest entry read next cannot change under us. It matches no row on purpose.
        session.execute(text("UPDATE audit_log SET id = id WHERE 0"))


def recent_entries(
    session: Session, *, before_id: int | None = None, limit: int = 100
) -> list[AuditEntry]:
    """The newest entries first, keyset-paged by id."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return list(session.scalars(query))


def utc_iso(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return at.astimezone(UTC).isoformat(timespec="microseconds")
