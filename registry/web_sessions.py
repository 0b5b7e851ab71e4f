"""Browser sessions kept on the server: started at sign-in, ended at once when they should be.

The cookie carries a random 256-bit session id; the table keeps only its SHA-256, so a copy of
the database does not hand out sessions. A session ends when its user signs out, is disabled,
has their password or role changed, or is signed out everywhere by an admin (its rows are
deleted, so every web process refuses the cookie on its next request), and when it has been
idle, or alive, longer than the configured limits.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from registry.models import User, WebSession
from registry.users import Principal, Role

MAX_COOKIE_LENGTH = 128
"""Longer cookie values are refused unread (ours are 43 characters)."""


@dataclass(frozen=True, slots=True)
class SessionLimits:
    """How long a session lives: ``idle`` since its last request, ``absolute`` since sign-in."""

    idle: timedelta = timedelta(minutes=60)
    absolute: timedelta = timedelta(hours=8)

    @property
    def touch_every(self) -> timedelta:
        """How stale ``last_seen_at`` may get before a request refreshes it.

        Refreshing on every request would make every page view a write; a fraction of the
        idle limit keeps the idle timeout accurate to within that fraction.
        """
        return min(timedelta(minutes=1), self.idle / 4)


@dataclass(frozen=True, slots=True)
class LiveSession:
    """A session that is still valid, with the user it belongs to."""

    id: int
    principal: Principal
    csrf_token: str


def session_digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(session: Session, user_id: int, *, now: datetime) -> tuple[str, str]:
    """A new session for ``user_id``: the cookie value (shown once) and its CSRF token."""
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            id_sha256=session_digest(session_id),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            csrf_token=csrf,
        )
    )
    session.flush()
    return session_id, csrf


def live_session(
    session: Session, session_id: str, limits: SessionLimits, *, now: datetime
) -> LiveSession | None:
    """The valid session behind a cookie value, or None; refreshes its last-seen time.

    A session past a limit, or whose user is disabled, is deleted on the spot. Flushes; the
    caller commits.
    """
    if not session_id or len(session_id) > MAX_COOKIE_LENGTH:
        return None
    row = session.execute(
        select(
            WebSession.id,
            WebSession.created_at,
            WebSession.last_seen_at,
            WebSession.csrf_token,
            User.id.label("user_id"),
            User.name,
            User.role,
            User.agency,
            User.disabled,
        )
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.id_sha256 == session_digest(session_id))
    ).first()
    if row is None:
        return None
    expired = (
        row.disabled
        or now - row.last_seen_at >= limits.idle
        or now - row.created_at >= limits.absolute
    )
    if expired:
        session.execute(delete(WebSession).where(WebSession.id == row.id))
        return None
    if now - row.last_seen_at >= limits.touch_every:
        session.execute(update(WebSession).where(WebSession.id == row.id).values(last_seen_at=now))
    return LiveSession(
        row.id, Principal(row.user_id, row.name, Role(row.role), row.agency), row.csrf_token
    )


def end_session(session: Session, session_id: str) -> bool:
    """End the session behind a cookie value (sign-out); True if it was live."""
    if not session_id or len(session_id) > MAX_COOKIE_LENGTH:
        return False
    result = session.execute(
        delete(WebSession).where(WebSession.id_sha256 == session_digest(session_id))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def purge_expired(session: Session, limits: SessionLimits, *, now: datetime) -> int:
    """Delete every session past a limit; the number deleted."""
    result = session.execute(
        delete(WebSession).where(
            or_(
                WebSession.last_seen_at <= now - limits.idle,
                WebSession.created_at <= now - limits.absolute,
            )
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
