"""``takedown records``: evidence bundles, their verification, and partner exports."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from records.archive import sha256_hex
from records.bundle import verify_bundle
from records.cache import begin_snapshot, bundle_cache, cached_bundle, store_missing_pdfs
from records.partner import partner_export
from records.signing import (
    configured_key,
    key_id,
    load_public_key,
    new_private_key,
    public_key_pem,
)
from registry.audit import AuditAction, record
from registry.db import session_factory, unit_of_work
from takedown.app import app
from takedown.clikit import CommandError, current_user, engine, errors, settings

records_app = typer.Typer(help="Evidence bundles and partner exports.", no_args_is_help=True)
app.add_typer(records_app, name="records")


def signing_key_text() -> str | None:
    secret = settings().signing_key
    return secret.get_secret_value() if secret is not None else None


@records_app.command("export")
def export(
    case_id: Annotated[int, typer.Option("--case", metavar="ID", help="The case's number.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the ZIP.")],
) -> None:
    """Write the signed evidence bundle of one case."""
    actor = f"cli:{current_user()}"
    with errors():
        key = configured_key(signing_key_text())
        config = settings()
        cache = bundle_cache(config.bundle_cache_dir, config.bundle_cache_mb, key)
        if cache is not None:
            store_missing_pdfs(engine(), case_id)
        with session_factory(engine())() as reader:
            begin_snapshot(reader)
            bundle, _hit = cached_bundle(reader, case_id, key, created_by=actor, cache=cache)
        write_atomically(out, bundle.data)
        # The audit entry in a transaction of its own: the snapshot above may predate the
        # newest entry of the chain.
        with unit_of_work(engine()) as session:
            record(
                session,
                actor=actor,
                action=AuditAction.EXPORT,
                subject=bundle.reference,
                detail={
                    "what": "evidence_bundle",
                    "case_id": bundle.case_id,
                    "sha256": sha256_hex(bundle.data),
                    "bytes": len(bundle.data),
                },
            )
    typer.echo(f"wrote {out}: {bundle.reference}, {bundle.files} files, key {key_id(key)}")


@records_app.command("verify")
def verify_command(
    file: Annotated[Path, typer.Argument(help="An evidence bundle (ZIP).")],
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key",
            help="PEM or base64 public key; default: the public half of TAKEDOWN_SIGNING_KEY.",
        ),
    ] = None,
) -> None:
    """Check a bundle's signature, every file's digest against the manifest and every evidence
    file against its capture hash; exit 1 naming what was changed."""
    with errors():
        if public_key is not None:
            key = load_public_key(public_key.read_bytes())
        else:
            key = configured_key(signing_key_text()).public_key()
        data = file.read_bytes()
    check = verify_bundle(data, key)
    if not check.ok:
        for problem in check.problems:
            typer.echo(f"FAILED: {problem}", err=True)
        raise typer.Exit(1)
    typer.echo(f"OK: {check.case_reference}, {check.files} files, signed by key {check.key_id}")


@records_app.command("partner-export")
def partner_export_command(
    partner: Annotated[str, typer.Option("--partner", metavar="CODE", help="Partner code.")],
    since: Annotated[str, typer.Option("--since", help="First day (YYYY-MM-DD) or instant.")],
    until: Annotated[str, typer.Option("--until", help="Last day, included, or instant.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the CSV.")],
) -> None:
    """Write a CSV of every notice referred to one partner in a period."""
    actor = f"cli:{current_user()}"
    with errors():
        start, end = parse_period(since, until)
        with unit_of_work(engine()) as session:
            export = partner_export(session, partner, start, end)
            write_atomically(out, export.data)
            record(
                session,
                actor=actor,
                action=AuditAction.EXPORT,
                subject=export.audit_subject,
                detail=export.audit_detail(),
            )
    typer.echo(f"wrote {out}: {export.notices} notices to {partner}")


@records_app.command("new-key")
def new_key() -> None:
    """Print a new private signing key for TAKEDOWN_SIGNING_KEY (keep it secret)."""
    typer.echo(new_private_key())


@records_app.command("public-key")
def public_key_command() -> None:
    """Print the public key (PEM) that checks the bundles this installation signs."""
    with errors():
        key = configured_key(signing_key_text())
    typer.echo(public_key_pem(key).decode("ascii"), nl=False)


def parse_period(since: str, until: str) -> tuple[datetime, datetime]:
    """``[start, end)``: a day given as ``until`` counts whole (up to the next midnight UTC)."""
    start = _instant(since, end_of_day=False)
    end = _instant(until, end_of_day=True)
    if end <= start:
        raise CommandError("--until must not be before --since")
    return start, end


def _instant(text: str, *, end_of_day: bool) -> datetime:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return midnight + timedelta(days=1) if end_of_day else midnight
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"'{text}' is neither a date (YYYY-MM-DD) nor an ISO instant") from None
    if instant.tzinfo is None:
        raise CommandError(f"'{text}' needs a time zone (e.g. Z or +00:00)")
    return instant


def write_atomically(path: Path, data: bytes) -> None:
    """Write through a temporary file in the same folder, so no reader sees half a file."""
    if path.is_dir():
        raise CommandError(f"{path} is a folder, not a file")
    folder = path.parent if str(path.parent) else Path(".")
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
