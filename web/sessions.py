"""The browser's side of a session: the cookie naming it, and the CSRF token of its forms.

The session itself lives in the database (``registry.web_sessions``), so every web process
sees it and it can be ended at once. The cookie holds only the random session id. Before
sign-in there is no session; the sign-in form's CSRF token is then a double-submit cookie
(``takedown_csrf``): a random value the form must repeat, which another site can neither read
nor set.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from registry.base import utcnow
from registry.db import unit_of_work
from registry.web_sessions import MAX_COOKIE_LENGTH, LiveSession, live_session
from web.config import WebState

SESSION_COOKIE = "takedown_session"
CSRF_COOKIE = "takedown_csrf"
_ANONYMOUS_CSRF_SECONDS = 3600


@dataclass(slots=True)
class _Seen:
    """What this request's cookie turned out to be (looked up once per request)."""

    session: LiveSession | None


async def request_session(request: Request, state: WebState) -> LiveSession | None:
    """The live session named by the request's cookie, or None; looked up once per request.

    Never cached across requests: a session ended in any process is refused on the next one.
    """
    seen = getattr(request.state, "web_session", None)
    if isinstance(seen, _Seen):
        return seen.session
    value = request.cookies.get(SESSION_COOKIE)
    found = None
    if value and len(value) <= MAX_COOKIE_LENGTH:
        found = await run_in_threadpool(_lookup, state, value)
    request.state.web_session = _Seen(found)
    return found


def _lookup(state: WebState, value: str) -> LiveSession | None:
    with unit_of_work(state.engine) as session:
        return live_session(session, value, state.config.sessions, now=utcnow())


def known_session(request: Request) -> LiveSession | None:
    """The session :func:`request_session` found for this request, if it has looked."""
    seen = getattr(request.state, "web_session", None)
    return seen.session if isinstance(seen, _Seen) else None


def form_token(request: Request) -> tuple[str, bool]:
    """The CSRF token this request's forms carry, and whether it is new (cookie to set)."""
    live = known_session(request)
    if live is not None:
        return live.csrf_token, False
    current = request.cookies.get(CSRF_COOKIE)
    if current and 32 <= len(current) <= 64:
        return current, False
    fresh = getattr(request.state, "fresh_csrf", None)
    if not isinstance(fresh, str):
        fresh = secrets.token_urlsafe(32)
        request.state.fresh_csrf = fresh
    return fresh, True


def csrf_matches(request: Request, submitted: str | None) -> bool:
    """True when ``submitted`` is the token of this request's session (or, signed out, of its
    CSRF cookie), compared in constant time."""
    live = known_session(request)
    expected = live.csrf_token if live is not None else request.cookies.get(CSRF_COOKIE)
    if not expected or not submitted or len(expected) < 32:
        return False
    return secrets.compare_digest(expected.encode(), submitted.encode())


def set_csrf_cookie(response: Response, token: str, secure: bool) -> None:
    response.set_cookie(
        CSRF_COOKIE,
        token,
        max_age=_ANONYMOUS_CSRF_SECONDS,
        httponly=True,
        samesite="strict",
        secure=secure,
    )


def set_session_cookie(response: Response, value: str, *, max_age: int, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE, value, max_age=max_age, httponly=True, samesite="lax", secure=secure
    )


def clear_session_cookie(response: Response, secure: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=secure)
