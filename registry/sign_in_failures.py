"""Failed sign-ins, kept in the database so every web process counts the same failures.

Each failure is stored twice: under the account's name (``u:``) and under the client's
address (``a:``). The table is bounded: rows older than the window go, and beyond
``max_rows`` the oldest go first, so a flood of made-up names cannot fill the disk, and the
failures of the last minutes (those that matter) are the ones kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from registry.base import table_of
from registry.models import SignInFailure

MAX_KEY = 128


@dataclass(frozen=True, slots=True)
class SignInLimits:
    """How many failed sign-ins are tolerated within ``window``."""

    per_user: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)
    max_rows: int = 100_000
    """Failures remembered at most; beyond it the oldest are forgotten first."""


def user_key(name: str) -> str:
    return f"u:{name.lower()}"[:MAX_KEY]


def address_key(address: str) -> str:
    return f"a:{address}"[:MAX_KEY]


def is_blocked(
    session: Session, name: str, address: str, limits: SignInLimits, *, now: datetime
) -> bool:
    """True when the account or the client has failed too often within the window."""
    since = now - limits.window
    for key, limit in (
        (user_key(name), limits.per_user),
        (address_key(address), limits.per_address),
    ):
        recent = session.scalar(
            select(func.count())
            .select_from(SignInFailure)
            .where(SignInFailure.key == key, SignInFailure.at > since)
        )
        if (recent or 0) >= limit:
            return True
    return False


def record_failure(
    session: Session, name: str, address: str, limits: SignInLimits, *, now: datetime
) -> None:
    """Count a failure against the account and the client; keep the table bounded."""
    table = table_of(SignInFailure)
    newest = session.execute(
        insert(table).returning(table.c.id),
        [{"key": user_key(name), "at": now}, {"key": address_key(address), "at": now}],
    ).all()
    session.execute(delete(SignInFailure).where(SignInFailure.at <= now - limits.window))
    # Ids grow with time: everything more than max_rows ids back is the oldest.
    last_id = max(row.id for row in newest)
    session.execute(delete(SignInFailure).where(SignInFailure.id <= last_id - limits.max_rows))


def clear_failures(session: Session, name: str) -> None:
    """Forget an account's failures after it signed in (its client's are kept)."""
    session.execute(delete(SignInFailure).where(SignInFailure.key == user_key(name)))
