"""``takedown serve``, ``takedown users add`` and ``takedown audit verify``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from registry.audit import AuditAction, record, verify_chain
from registry.db import unit_of_work
from registry.models import User
from registry.users import (
    Role,
    create_user,
    end_user_sessions,
    get_user,
    issue_token,
    list_users,
    set_disabled,
    set_password,
    set_role,
)
from takedown.app import app
from takedown.clikit import JsonOption, current_user, engine, errors, print_json, settings

users_app = typer.Typer(help="People and machines allowed into the web app.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Processes, sharing sessions through the database.")
    ] = 1,
) -> None:
    """Run the web app (pages and the JSON API) with uvicorn."""
    from web.app import create_app
    from web.serving import Listen, serve_workers
    from web.serving import serve as serve_app

    with errors():
        current = settings()
        engine().dispose()  # checks the database is reachable and at the current schema
    listen = Listen(host, port)
    if workers == 1:
        serve_app(create_app(current), listen)
        return
    # Each worker process builds the app from the settings itself.
    raise typer.Exit(serve_workers("web.app:create_app", listen, workers))


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The user's sign-in name.")],
    role: Annotated[Role, typer.Option("--role", help="What the user may do.")],
    agency: Annotated[
        str | None, typer.Option("--agency", metavar="CODE", help="Liaison: partner code.")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    token: Annotated[bool, typer.Option("--token", help="Print a new API token.")] = False,
) -> None:
    """Create a user; with --token, print an API token for them (shown once)."""
    actor = f"cli:{current_user()}"
    with errors():
        password = _read_password() if password_stdin else None
        if password is None and not token:
            raise ValueError("give --password-stdin, --token or both: otherwise nobody can sign in")
        with unit_of_work(engine()) as session:
            user = create_user(session, name, role, agency=agency, password=password)
            record(
                session,
                actor=actor,
                action=AuditAction.USER_CREATED,
                subject=f"user:{name}",
                detail={"role": role.value, "agency": agency},
            )
            secret = None
            if token:
                secret = issue_token(session, user, label="cli")
                record(
                    session,
                    actor=actor,
                    action=AuditAction.TOKEN_ISSUED,
                    subject=f"user:{name}",
                    detail={"label": "cli"},
                )
    if secret is not None:
        typer.echo(secret)
    else:
        typer.echo(f"added {name} ({role.value})", err=True)


def _read_password() -> str:
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


@users_app.command("list")
def users_list(as_json: JsonOption = False) -> None:
    """List users (never their passwords or tokens)."""
    with errors(), unit_of_work(engine()) as session:
        rows = [
            {"name": u.name, "role": u.role, "agency": u.agency, "disabled": u.disabled}
            for u in list_users(session)
        ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        state = " (disabled)" if row["disabled"] else ""
        agency = f" [{row['agency']}]" if row["agency"] else ""
        typer.echo(f"{row['name']}  {row['role']}{agency}{state}")


NameArgument = Annotated[str, typer.Argument(help="The user's sign-in name.")]


@users_app.command("disable")
def users_disable(name: NameArgument) -> None:
    """Disable a user: their sessions end at once, their tokens within seconds."""
    _change_user(name, AuditAction.USER_DISABLED, lambda s, u: set_disabled(s, u, True))


@users_app.command("enable")
def users_enable(name: NameArgument) -> None:
    """Let a disabled user sign in again."""
    _change_user(name, AuditAction.USER_ENABLED, lambda s, u: set_disabled(s, u, False))


@users_app.command("password")
def users_password(name: NameArgument) -> None:
    """Set a user's password (read from standard input); their sessions end at once."""
    password = _read_password()
    _change_user(name, AuditAction.PASSWORD_CHANGED, lambda s, u: set_password(s, u, password))


@users_app.command("role")
def users_role(
    name: NameArgument,
    role: Annotated[Role, typer.Option("--role", help="What the user may do from now on.")],
    agency: Annotated[
        str | None, typer.Option("--agency", metavar="CODE", help="Liaison: partner code.")
    ] = None,
) -> None:
    """Change a user's role (and agency); their sessions end at once."""
    _change_user(
        name,
        AuditAction.ROLE_CHANGED,
        lambda s, u: set_role(s, u, role, agency=agency),
        detail={"role": role.value, "agency": agency},
    )


@users_app.command("sign-out")
def users_sign_out(name: NameArgument) -> None:
    """End every session of a user at once (sign out everywhere)."""
    _change_user(name, AuditAction.SESSIONS_ENDED, end_user_sessions)


def _change_user(
    name: str,
    action: AuditAction,
    change: Callable[[Session, User], int],
    *,
    detail: dict[str, Any] | None = None,
) -> None:
    with errors(), unit_of_work(engine()) as session:
        user = get_user(session, name)
        ended = change(session, user)
        record(
            session,
            actor=f"cli:{current_user()}",
            action=action,
            subject=f"user:{name}",
            detail={**(detail or {}), "sessions_ended": ended},
        )
    typer.echo(f"{name}: {action.value.replace('_', ' ')}, {ended} session(s) ended", err=True)


@audit_app.command("verify")
def audit_verify(as_json: JsonOption = False) -> None:
    """Re-hash the audit log; exit 1 naming each entry edited, deleted or moved."""
    with errors(), unit_of_work(engine()) as session:
        report = verify_chain(session)
    if as_json:
        print_json(
            {
                "ok": report.ok,
                "entries": report.entries,
                "last_hash": report.last_hash,
                "breaks": [{"entry": b.entry_id, "problem": b.problem} for b in report.breaks],
            }
        )
    elif report.ok:
        typer.echo(f"OK: {report.entries} entries, last hash {report.last_hash}")
    else:
        for item in report.breaks:
            typer.echo(f"FAILED: {item}", err=True)
    if not report.ok:
        raise typer.Exit(1)
