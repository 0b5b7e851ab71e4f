"""``takedown inbox``: what came back (bounces, acknowledgements, replies), ``inbox fetch`` to
read the mailbox now, ``inbox classify FILE.eml…`` to see how saved messages read, ``inbox
handled ID`` to take a message out of the analyst queue."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from notices.inbound.keys import defang_text
from registry.attention import handle_message
from registry.base import utcnow
from registry.db import unit_of_work
from registry.models.case import case_reference
from registry.replies.service import explain, recent_messages
from takedown.app import app
from takedown.clikit import JsonOption, current_user, engine, errors, print_json, settings

inbox_app = typer.Typer(
    help="What came back: bounces, acknowledgements and replies.", invoke_without_command=True
)
app.add_typer(inbox_app, name="inbox")


@inbox_app.callback()
def inbox(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 50,
    queue: Annotated[
        bool, typer.Option("--queue", help="Only those waiting for an analyst.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List the newest stored messages and how each was read."""
    if ctx.invoked_subcommand is not None:
        return
    with errors(), unit_of_work(engine()) as session:
        messages = recent_messages(session, limit=limit, queue_only=queue)
    if as_json:
        print_json(messages)
        return
    if not messages:
        typer.echo("no messages")
        return
    for m in messages:
        flag = " [analyst]" if m["needs_analyst"] else ""
        typer.echo(
            f"{m['id']:>6}  {m['received_at'][:16]}  {m['class']:<16} {m['case'] or '-':<10} "
            f"{defang_text(m['sender'] or '?')}: {defang_text(m['subject'])[:70]}{flag}"
        )


@inbox_app.command("fetch")
def fetch(as_json: JsonOption = False) -> None:
    """Read the inbound mailbox now (``TAKEDOWN_INBOX_URL``), as the scheduled flow does."""
    with errors():
        from flows.inbox import inbox_flow, open_inbox  # Prefect loads only when needed

        open_inbox().close()  # no usable inbox: one line, before Prefect starts
        total = inbox_flow()
    if as_json:
        print_json(total)
        return
    typer.echo(
        f"{total['stored']} messages stored ({total['duplicates']} seen before), "
        f"{total['matched']} matched to a case, {total['unmatched']} unmatched"
    )
    typer.echo(
        f"{total['dead_addresses']} addresses marked dead, {total['rerouted']} notices re-routed, "
        f"{total['rechecks']} rechecks brought forward, {total['needs_analyst']} for an analyst"
    )


def _matching_session_url() -> str | None:
    """The database to match against, if one exists (classify never creates one)."""
    url = settings().database_url
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        return url if path.is_file() else None
    return url


@inbox_app.command("classify")
def classify_files(
    files: Annotated[list[Path], typer.Argument(metavar="FILE.eml…", help="Saved messages.")],
    as_json: JsonOption = False,
) -> None:
    """How saved messages read: class, failed addresses, ticket, matching case. Stores nothing."""
    results: list[dict[str, Any]] = []
    with errors():
        raws = [(str(f), f.read_bytes()) for f in files]
        url = _matching_session_url()
        if url is not None:
            with unit_of_work(engine()) as session:
                results = [{"file": name, **explain(raw, session)} for name, raw in raws]
                session.rollback()
        else:
            results = [{"file": name, **explain(raw)} for name, raw in raws]
    if as_json:
        print_json(results)
        return
    for r in results:
        extra = [
            f"failed {', '.join(r['failed_addresses'])}" if r["failed_addresses"] else "",
            f"ticket {r['ticket']}" if r["ticket"] else "",
            "says removed" if r["claims_removed"] else "",
            f"case {r['case']} (by {r['matched_by']})" if r["case"] else "no case",
        ]
        typer.echo(f"{r['file']}: {r['class']}; " + "; ".join(e for e in extra if e))


@inbox_app.command("handled")
def message_handled(
    message_id: Annotated[
        int, typer.Argument(metavar="ID", min=1, help="The message's number (`takedown inbox`).")
    ],
    note: Annotated[
        str, typer.Option("--note", help="What was done about it; kept on the record.")
    ],
    by: Annotated[
        str | None, typer.Option("--by", help="Who handled it (default: the current user).")
    ] = None,
) -> None:
    """Take a received message out of the analyst queue, with a note of what was done."""
    with errors(), unit_of_work(engine()) as session:
        mail = handle_message(session, by or current_user(), message_id, note, now=utcnow())
        case_id = mail.case_id
    about = f"; the note is on {case_reference(case_id)}'s record" if case_id is not None else ""
    typer.echo(f"message {message_id} handled{about}")
