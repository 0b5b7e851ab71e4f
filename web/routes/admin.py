"""The dashboard, user administration, the partner directory and the audit log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.audit import AuditAction, recent_entries, record, verify_chain
from registry.db import session_factory, unit_of_work
from registry.models import Partner, User
from registry.queries import inbox_queue
from registry.reporting.dashboard import dashboard
from registry.users import (
    Principal,
    Role,
    create_user,
    end_user_sessions,
    get_user,
    list_users,
    set_disabled,
    set_password,
    set_role,
)
from web.deps import Admin, Auditor, CheckedForm, Dashboarder, StateDep
from web.views import render

router = APIRouter(include_in_schema=False)
AUDIT_PAGE = 100


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request, user: Dashboarder, state: StateDep) -> Response:
    with session_factory(state.engine)() as session:
        figures = dashboard(session)
        # Replies are case material: only analysts see them.
        queue = inbox_queue(session) if user.role is Role.ANALYST else None
    return render(
        request,
        "dashboard.html",
        user,
        f=figures,
        queue=queue,
        message=request.query_params.get("done", "")[:80],
    )


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, user: Admin, state: StateDep) -> Response:
    with session_factory(state.engine)() as session:
        users = list_users(session)
    return render(request, "users.html", user, users=users, roles=list(Role), error=None)


@router.post("/admin/users", response_class=HTMLResponse)
def add_user(request: Request, user: Admin, state: StateDep, form: CheckedForm) -> Response:
    name = str(form.get("name") or "").strip()
    role = str(form.get("role") or "")
    agency = str(form.get("agency") or "").strip() or None
    password = str(form.get("password") or "")
    try:
        with unit_of_work(state.engine) as session:
            create_user(session, name, role, agency=agency, password=password)
            record(
                session,
                actor=user.name,
                action=AuditAction.USER_CREATED,
                subject=f"user:{name}",
                detail={"role": role, "agency": agency},
            )
    except ValueError as exc:
        return _users_error(request, user, state, exc)
    return RedirectResponse("/admin/users", status_code=303)


UserName = Annotated[str, Path(max_length=64)]


@router.post("/admin/users/{name}/sign-out", response_class=HTMLResponse)
def sign_out_everywhere(
    request: Request, user: Admin, state: StateDep, form: CheckedForm, name: UserName
) -> Response:
    """End every session of the user at once."""
    return _change_user(request, user, state, name, AuditAction.SESSIONS_ENDED, end_user_sessions)


@router.post("/admin/users/{name}/disable", response_class=HTMLResponse)
def disable_user(
    request: Request, user: Admin, state: StateDep, form: CheckedForm, name: UserName
) -> Response:
    return _change_user(
        request, user, state, name, AuditAction.USER_DISABLED, lambda s, u: set_disabled(s, u, True)
    )


@router.post("/admin/users/{name}/enable", response_class=HTMLResponse)
def enable_user(
    request: Request, user: Admin, state: StateDep, form: CheckedForm, name: UserName
) -> Response:
    return _change_user(
        request, user, state, name, AuditAction.USER_ENABLED, lambda s, u: set_disabled(s, u, False)
    )


@router.post("/admin/users/{name}/password", response_class=HTMLResponse)
def change_password(
    request: Request, user: Admin, state: StateDep, form: CheckedForm, name: UserName
) -> Response:
    password = str(form.get("password") or "")
    return _change_user(
        request,
        user,
        state,
        name,
        AuditAction.PASSWORD_CHANGED,
        lambda s, u: set_password(s, u, password),
    )


@router.post("/admin/users/{name}/role", response_class=HTMLResponse)
def change_role(
    request: Request, user: Admin, state: StateDep, form: CheckedForm, name: UserName
) -> Response:
    role = str(form.get("role") or "")
    agency = str(form.get("agency") or "").strip() or None
    return _change_user(
        request,
        user,
        state,
        name,
        AuditAction.ROLE_CHANGED,
        lambda s, u: set_role(s, u, role, agency=agency),
        detail={"role": role, "agency": agency},
    )


def _change_user(
    request: Request,
    admin: Principal,
    state: StateDep,
    name: str,
    action: AuditAction,
    change: Callable[[Session, User], int],
    *,
    detail: dict[str, Any] | None = None,
) -> Response:
    """Apply ``change`` to the user and audit it; every such change ends their sessions."""
    try:
        with unit_of_work(state.engine) as session:
            ended = change(session, get_user(session, name))
            record(
                session,
                actor=admin.name,
                action=action,
                subject=f"user:{name}",
                detail={**(detail or {}), "sessions_ended": ended},
            )
    except ValueError as exc:
        return _users_error(request, admin, state, exc)
    return RedirectResponse("/admin/users", status_code=303)


def _users_error(request: Request, user: Principal, state: StateDep, exc: Exception) -> Response:
    with session_factory(state.engine)() as session:
        users = list_users(session)
    return render(
        request, "users.html", user, status_code=400, users=users, roles=list(Role), error=str(exc)
    )


@router.get("/admin/partners", response_class=HTMLResponse)
def partners_page(request: Request, user: Admin, state: StateDep) -> Response:
    with session_factory(state.engine)() as session:
        partners = session.scalars(select(Partner).order_by(Partner.code)).all()
    return render(request, "partners.html", user, partners=partners)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    user: Auditor,
    state: StateDep,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    verify: bool = False,
) -> Response:
    with session_factory(state.engine)() as session:
        entries = recent_entries(session, before_id=before, limit=AUDIT_PAGE)
        report = verify_chain(session) if verify else None
    next_before = entries[-1].id if len(entries) == AUDIT_PAGE else None
    return render(
        request, "audit.html", user, entries=entries, report=report, next_before=next_before
    )
