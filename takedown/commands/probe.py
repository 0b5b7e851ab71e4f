"""``takedown probe URL``: what a recheck would see; ``takedown recheck``: run the due rechecks."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from hosting.probe import ProbeLimits, ProbeResult, build_prober
from takedown.app import app
from takedown.clikit import JsonOption, engine, errors, print_json
from takedown.clikit import settings as get_settings
from takedown.progress import progress_bar
from urls import defang

Sha256Option = Annotated[
    str | None,
    typer.Option(
        "--sha256", help="Digest of the confirmed item, to tell the same content from changed."
    ),
]


class InvalidDigest(ValueError):
    """A digest that is not 64 hexadecimal characters."""


@app.command()
def probe(
    url: Annotated[str, typer.Argument(help="The URL to probe (http or https).")],
    sha256: Sha256Option = None,
    as_json: JsonOption = False,
) -> None:
    """Probe one URL as the recheck would, and store nothing."""
    with errors():
        if sha256 is not None and (
            len(sha256) != 64 or any(c not in "0123456789abcdefABCDEF" for c in sha256)
        ):
            raise InvalidDigest("--sha256 must be 64 hexadecimal characters")
        settings = get_settings()
        limits = ProbeLimits(
            timeout=settings.probe_timeout_seconds, max_bytes=settings.probe_max_bytes
        )

        async def run() -> ProbeResult:
            async with build_prober(
                dns_nameservers=settings.dns_nameservers,
                allowed_networks=settings.probe_allowed_networks,
                user_agent=settings.probe_user_agent,
                limits=limits,
            ) as prober:
                return await prober.probe(url, sha256)

        result = asyncio.run(run())
    if as_json:
        print_json(result.to_json())
        return
    rows = [
        ("outcome", result.outcome.value),
        ("url", defang(result.url)),
        ("status", result.status),
        ("address", result.address),
        ("sha256", result.sha256),
        ("bytes", result.bytes_read),
        ("error", result.error),
    ]
    for name, value in rows:
        typer.echo(f"{name:<8} {'-' if value is None else value}")


@app.command()
def recheck(
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Cases per batch.")] = 500,
    workers: Annotated[int, typer.Option(min=1, max=32, help="Batches at a time.")] = 2,
    max_batches: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many batches.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Probe every case whose next check is due and record what was seen."""
    from registry.tracking.run import prober_factory, run_recheck, tracking_policy

    with errors():
        settings = get_settings()
        database = engine()
        try:
            with progress_bar(as_json):
                summary = run_recheck(
                    database,
                    prober_factory(settings),
                    policy=tracking_policy(settings),
                    batch_size=batch_size,
                    workers=workers,
                    max_batches=max_batches,
                )
        finally:
            database.dispose()
    if as_json:
        print_json(summary.to_json())
        return
    outcomes = ", ".join(f"{n} {name}" for name, n in summary.to_json()["outcomes"].items() if n)
    typer.echo(
        f"{summary.checked} checked ({outcomes or 'nothing due'}): "
        f"{summary.removal_verified} removals verified, {summary.reappeared} reappeared, "
        f"{summary.moved} moved, {summary.needs_analyst} newly need an analyst, "
        f"{summary.closed} closed"
    )
