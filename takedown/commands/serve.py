"""``takedown serve``, ``takedown users ...`` and ``takedown audit verify|new-key``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from records.checkpoints import check_log, checkpoint_summary
from records.signing import configured_key
from registry.audit import AuditAction, new_audit_key, record
from registry.base import utcnow
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
audit_app = typer.Typer(help="The keyed, hash-chained audit log.", no_args_is_help=True)
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
def audit_verify(
    as_json: JsonOption = False,
    checkpoint: Annotated[
        bool,
        typer.Option(
            "--checkpoint/--no-checkpoint",
            help="After a clean check, append a signed checkpoint of the head to the file.",
        ),
    ] = True,
) -> None:
    """Check the audit log: every hash and MAC, and every checkpoint kept outside the database.

    Exit 1 naming each entry edited, deleted, moved or rewritten, and each checkpoint the log no
    longer matches (the newest entries deleted, the log rewritten).
    """
    with errors():
        current = settings()
        signing = current.signing_key
        key = configured_key(signing.get_secret_value()) if signing else None
        with unit_of_work(engine()) as session:
            check = check_log(
                session, current.audit_checkpoint_file, key, now=utcnow(), write=checkpoint
            )
    report = check.report
    if as_json:
        print_json(
            {
                **checkpoint_summary(check),
                "breaks": [{"entry": b.entry_id, "problem": b.problem} for b in report.breaks],
            }
        )
    elif check.ok:
        typer.echo(f"OK: {report.entries} entries, last hash {report.last_hash}")
        if check.checkpoints:
            typer.echo(f"matches {check.checkpoints} checkpoint(s)")
        if check.written is not None:
            typer.echo(f"checkpoint written: entry {check.written.last_id}")
    else:
        for problem in check.problems:
            typer.echo(f"FAILED: {problem}", err=True)
    if not as_json:
        for note in check.notes:
            typer.echo(f"note: {note}", err=True)
    if not check.ok:
        raise typer.Exit(1)


@audit_app.command("new-key")
def audit_new_key() -> None:
    """Print a fresh audit key for TAKEDOWN_AUDIT_KEY (keep it out of the database's reach)."""
    typer.echo(new_audit_key())
