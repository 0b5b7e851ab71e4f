"""Who is asking (session cookie or bearer token), what their role lets them do, and CSRF.

Pages authenticate with the session cookie (a session kept in the database, looked up on every
request, so one ended anywhere is refused at once); machines with ``Authorization: Bearer``.
A request carrying a bearer header is judged by the token alone, never by a cookie next to it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from registry.db import read_session
from registry.queries import Forbidden
from registry.users import (
    MAX_TOKEN_LENGTH,
    TOKEN_PREFIX,
    Principal,
    Role,
    principal,
    token_digest,
    user_for_token,
)
from web.config import WebState
from web.security import CSRF_FIELD
from web.sessions import csrf_matches, request_session

CaseId = Annotated[int, Path(ge=1, le=2**62, description="The case's number")]
MAX_FORM_PART_BYTES = 8 * 2**20


class SignInRequired(Exception):
    """No valid session or token came with the request."""


class CsrfRejected(Exception):
    """A form came without this session's CSRF token."""


# Dependencies that do no I/O are ``async``: FastAPI then runs them on the event loop instead
# of sending each to a worker thread, which under load costs more than the work itself.


async def web_state(request: Request) -> WebState:
    state = request.app.state.web
    assert isinstance(state, WebState)
    return state


StateDep = Annotated[WebState, Depends(web_state)]
_bearer = HTTPBearer(
    auto_error=False, description="An API token made with 'takedown users add --token'."
)


async def optional_user(
    request: Request,
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    """The enabled user behind the request's token or session, or None.

    Async on purpose: a token's principal seen in the last few seconds comes from memory (see
    :mod:`web.principals`) without a trip to a worker thread; only a lookup goes to one.
    """
    if credentials is not None:
        token = credentials.credentials
        if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
            raise SignInRequired("the API token is not valid")
        token_key = ("token", token_digest(token))
        found = state.principals.get(token_key)
        if found is None:
            found = await run_in_threadpool(_token_principal, state, token)
            if found is None:
                raise SignInRequired("the API token is not valid")
            state.principals.put(token_key, found)
        return found
    live = await request_session(request, state)
    return live.principal if live is not None else None


def _token_principal(state: WebState, token: str) -> Principal | None:
    with read_session(state.engine) as session:
        user = user_for_token(session, token)
        return principal(user) if user is not None else None


OptionalUser = Annotated[Principal | None, Depends(optional_user)]


async def current_user(user: OptionalUser) -> Principal:
    if user is None:
        raise SignInRequired("sign in first")
    return user


CurrentUser = Annotated[Principal, Depends(current_user)]


def require(*roles: Role) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    """A dependency admitting only users in ``roles``."""

    async def guard(user: CurrentUser) -> Principal:
        if user.role not in roles:
            raise Forbidden(f"this needs the role {' or '.join(r.value for r in roles)}")
        return user

    return guard


Analyst = Annotated[Principal, Depends(require(Role.ANALYST))]
CaseReader = Annotated[Principal, Depends(require(Role.ANALYST, Role.LIAISON))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
Auditor = Annotated[Principal, Depends(require(Role.AUDITOR))]
Dashboarder = Annotated[Principal, Depends(require(Role.ANALYST, Role.ADMIN))]


async def checked_form(request: Request, state: StateDep) -> AsyncIterator[FormData]:
    """The submitted form, if it carries this session's CSRF token; closed afterwards."""
    await request_session(request, state)
    form = await request.form(max_part_size=MAX_FORM_PART_BYTES)
    try:
        submitted = form.get(CSRF_FIELD)
        if not isinstance(submitted, str) or not csrf_matches(request, submitted):
            raise CsrfRejected("the form is stale or did not come from this site; reload it")
        yield form
    finally:
        await form.close()


CheckedForm = Annotated[FormData, Depends(checked_form)]


def client_address(request: Request) -> str:
    """The client's address: the peer's, or the one trusted proxies forwarded for."""
    peer = request.client.host if request.client else "unknown"
    state = request.app.state.web
    assert isinstance(state, WebState)
    return state.config.trusted_proxies.client(peer, request.headers.get("x-forwarded-for"))
