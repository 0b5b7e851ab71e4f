"""People and machines allowed into the web app: roles, Argon2 passwords, bearer tokens.

Passwords are kept only as Argon2id hashes (argon2-cffi's defaults). An API token is shown
once, when it is made; only its SHA-256 is stored, which is enough because a token is 256
random bits (no dictionary to attack, so no slow hash is needed).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from registry.base import utcnow
from registry.models import ApiToken, User, WebSession

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_AGENCY = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
"""Argon2 takes any length, but a megabyte 'password' is a denial of service, not a secret."""
TOKEN_PREFIX = "tdk_"  # noqa: S105 (marks our tokens; not a secret)
MAX_TOKEN_LENGTH = 128
"""Longer bearer values are refused unread (ours are about 47 characters)."""

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """A hash to verify against when the user does not exist, so that a sign-in takes as long
    either way and its time does not tell whether a name exists. Made on first use: hashing
    takes most of a second, which every command line start paid when it was made at import."""
    return _hasher.hash(secrets.token_urlsafe(16))


class Role(StrEnum):
    ANALYST = "analyst"
    LIAISON = "liaison"
    ADMIN = "admin"
    AUDITOR = "auditor"


class InvalidUser(ValueError):
    """A user cannot be created as asked (bad name, role, agency or password)."""


class UserExists(ValueError):
    """A user of that name exists already."""


class UserNotFound(LookupError):
    """No user has the name asked for."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is making a request: enough to decide what they may see, detached from any session."""

    id: int
    name: str
    role: Role
    agency: str | None


def principal(user: User) -> Principal:
    return Principal(user.id, user.name, Role(user.role), user.agency)


def create_user(
    session: Session,
    name: str,
    role: Role | str,
    *,
    agency: str | None = None,
    password: str | None = None,
) -> User:
    """Add a user; a liaison officer must name the agency (partner code) whose cases they see.

    Raises :class:`InvalidUser` or :class:`UserExists`.
    """
    if not _NAME.match(name):
        raise InvalidUser(
            "a user name is 1-64 letters, digits, '.', '_', '@' or '-', starting with a "
            "letter or digit"
        )
    role = _role(role)
    _check_agency(role, agency)
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise UserExists(f"there is already a user called '{name}'")
    user = User(
        name=name,
        role=role.value,
        agency=agency,
        password_hash=hash_password(password) if password is not None else None,
        disabled=False,
    )
    session.add(user)
    session.flush()
    return user


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InvalidUser(
            f"'{role}' is not a role; choose one of {', '.join(r.value for r in Role)}"
        ) from None


def _check_agency(role: Role, agency: str | None) -> None:
    if role is Role.LIAISON and not agency:
        raise InvalidUser("a liaison officer needs --agency, the partner code of their agency")
    if role is not Role.LIAISON and agency:
        raise InvalidUser("only liaison officers belong to an agency")
    if agency and not _AGENCY.match(agency):
        raise InvalidUser(f"'{agency}' is not a partner code (lower case letters, digits, '-')")


def hash_password(password: str) -> str:
    """The Argon2id hash of an acceptable password; raises :class:`InvalidUser` otherwise."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidUser(f"a password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters long")
    return _hasher.hash(password)


def authenticate(session: Session, name: str, password: str) -> User | None:
    """The enabled user with this name and password, or None; takes as long either way."""
    user = session.scalar(select(User).where(User.name == name[:64]))
    stored = user.password_hash if user is not None and user.password_hash else _dummy_hash()
    try:
        _hasher.verify(stored, password[:MAX_PASSWORD])
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.password_hash or user.disabled:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def end_user_sessions(session: Session, user: User) -> int:
    """End every browser session of ``user`` at once (sign out everywhere); how many ended."""
    result = session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    session.flush()
    return int(result.rowcount)  # type: ignore[attr-defined]


def set_disabled(session: Session, user: User, disabled: bool) -> int:
    """Disable or re-enable ``user``; disabling ends their sessions. Sessions ended."""
    user.disabled = disabled
    session.flush()
    return end_user_sessions(session, user) if disabled else 0


def set_password(session: Session, user: User, password: str) -> int:
    """Give ``user`` a new password and end their sessions; raises :class:`InvalidUser`."""
    user.password_hash = hash_password(password)
    session.flush()
    return end_user_sessions(session, user)


def set_role(session: Session, user: User, role: Role | str, *, agency: str | None = None) -> int:
    """Change what ``user`` may do (and, for a liaison officer, their agency); ends their
    sessions, so no page keeps what the old role could see. Raises :class:`InvalidUser`."""
    role = _role(role)
    _check_agency(role, agency)
    user.role = role.value
    user.agency = agency
    session.flush()
    return end_user_sessions(session, user)


def get_user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise UserNotFound(f"there is no user called '{name}'")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.name)))


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, *, label: str = "") -> str:
    """A new bearer token for ``user``; returned once, stored only as its SHA-256."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_sha256=token_digest(token), label=label[:64]))
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """The enabled user a live token belongs to, or None.

    ``last_used_at`` is not stamped here: a write on every API call would serialise readers.
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        return None
    user = session.scalar(
        select(User)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_sha256 == token_digest(token), ApiToken.revoked_at.is_(None))
    )
    if user is None or user.disabled:
        return None
    return user


def revoke_token(session: Session, token: str, *, now: datetime | None = None) -> bool:
    """Revoke a token; True if it was live."""
    row = session.scalar(
        select(ApiToken).where(
            ApiToken.token_sha256 == token_digest(token), ApiToken.revoked_at.is_(None)
        )
    )
    if row is None:
        return False
    row.revoked_at = now or utcnow()
    session.flush()
    return True
