"""Signing in and out. Every attempt, good or bad, goes to the audit log."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from registry.audit import AuditAction, record
from registry.base import utcnow
from registry.db import unit_of_work
from registry.users import Role, authenticate
from registry.web_sessions import end_session, purge_expired, start_session
from web.deps import CheckedForm, OptionalUser, StateDep, client_address
from web.sessions import SESSION_COOKIE, clear_session_cookie, set_session_cookie
from web.views import render

router = APIRouter(include_in_schema=False)
MAX_NAME = 64

HOME = {
    Role.ANALYST: "/dashboard",
    Role.LIAISON: "/cases",
    Role.ADMIN: "/admin/users",
    Role.AUDITOR: "/audit",
}


@router.get("/")
def home(user: OptionalUser) -> RedirectResponse:
    return RedirectResponse(HOME[user.role] if user else "/sign-in", status_code=303)


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(
    request: Request,
    user: OptionalUser,
    next_page: Annotated[str, Query(alias="next", max_length=512)] = "",
) -> Response:
    return render(request, "sign_in.html", user, next_page=_local(next_page), error=None)


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(request: Request, form: CheckedForm, state: StateDep) -> Response:
    name = str(form.get("name") or "")[:MAX_NAME]
    password = str(form.get("password") or "")
    next_page = _local(str(form.get("next") or ""))
    address = client_address(request)
    if state.throttle.blocked(name, address):
        with unit_of_work(state.engine) as session:
            record(
                session,
                actor=name or "(none)",
                action=AuditAction.SIGN_IN_FAILED,
                subject=f"user:{name}",
                detail={"address": address, "why": "throttled"},
            )
        return render(
            request,
            "sign_in.html",
            None,
            status_code=429,
            next_page=next_page,
            error="Too many failed attempts. Wait a few minutes, then try again.",
        )
    with unit_of_work(state.engine) as session:
        user = authenticate(session, name, password)
        record(
            session,
            actor=name or "(none)",
            action=AuditAction.SIGN_IN if user else AuditAction.SIGN_IN_FAILED,
            subject=f"user:{name}",
            detail={"address": address},
        )
        role = Role(user.role) if user else None
        started = None
        if user is not None:
            # A fresh session (and CSRF token) at each sign-in, so nothing planted survives;
            # the session the browser had before ends.
            now = utcnow()
            end_session(session, request.cookies.get(SESSION_COOKIE, ""))
            purge_expired(session, state.config.sessions, now=now)
            started = start_session(session, user.id, now=now)
    if started is None or role is None:
        state.throttle.failed(name, address)
        return render(
            request,
            "sign_in.html",
            None,
            status_code=401,
            next_page=next_page,
            error="That name and password do not match an active account.",
        )
    state.throttle.succeeded(name)
    response = RedirectResponse(next_page or HOME[role], status_code=303)
    set_session_cookie(
        response,
        started[0],
        max_age=int(state.config.sessions.absolute.total_seconds()),
        secure=state.config.cookie_secure,
    )
    return response


@router.post("/sign-out")
def sign_out(request: Request, form: CheckedForm, state: StateDep, user: OptionalUser) -> Response:
    """End this session on the server (a copy of its cookie is refused from now on)."""
    if user is not None:
        with unit_of_work(state.engine) as session:
            end_session(session, request.cookies.get(SESSION_COOKIE, ""))
            record(
                session,
                actor=user.name,
                action=AuditAction.SIGN_OUT,
                subject=f"user:{user.name}",
                detail={"address": client_address(request)},
            )
    response = RedirectResponse("/sign-in", status_code=303)
    clear_session_cookie(response, state.config.cookie_secure)
    return response


def _local(target: str) -> str:
    """Only a path on this site may be a redirect target (no open redirect)."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return ""
    if "\\" in target or any(ord(c) < 32 for c in target):
        return ""
    return target
