"""``takedown resolve URL`` (trace one URL, store nothing) and ``takedown trace`` (every case
waiting for a trace, through the trace flow)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer

from hosting.trace import HostingResult, MemoryCache, resolve_urls
from registry.tracing.orgs import clean_name
from registry.tracing.sources import TraceSources
from takedown.app import app
from takedown.clikit import JsonOption, errors, print_json
from takedown.clikit import settings as get_settings
from takedown.progress import progress_bar
from urls import defang, normalise_url


async def _resolve_one(url: str, sources: TraceSources) -> HostingResult:
    async with sources.open(MemoryCache()) as resolver:
        return (await resolve_urls([url], resolver))[0]


def _contacts(contacts: list[dict[str, Any]]) -> str:
    return ", ".join(str(c["email"]) for c in contacts[:3]) or "no abuse contact found"


def _shown(value: object, default: str = "unknown") -> str:
    # Registry text is hostile: no control characters (terminal escapes) reach the screen.
    return (clean_name(str(value)) if value else None) or default


def print_summary(result: dict[str, Any], display_url: str) -> None:
    """A few lines for people; the URL defanged."""
    typer.echo(f"url:        {display_url}")
    typer.echo(f"addresses:  {', '.join(result['ips']) or 'none'}")
    network = result["network"]
    if network:
        owner = _shown(network.get("organisation") or network["name"])
        asn = f"AS{network['asn']}" if network["asn"] else "AS unknown"
        typer.echo(f"network:    {owner} ({asn}, {_shown(network['prefix'], 'prefix unknown')})")
        typer.echo(f"  abuse:    {_contacts(network['abuse_contacts'])}")
    else:
        typer.echo("network:    not found")
    cdn = result["cdn"]
    if cdn:
        typer.echo(f"cdn:        {_shown(cdn['name'])} (the real host is unknown)")
        typer.echo(f"  abuse:    {_contacts(cdn['abuse_contacts'])}")
    registrar = result["registrar"]
    if registrar:
        typer.echo(f"registrar:  {_shown(registrar['name'])}")
        typer.echo(f"  abuse:    {_contacts(registrar['abuse_contacts'])}")
    else:
        typer.echo("registrar:  not found")
    typer.echo(f"country:    {_shown(result['hosting_country'])}")
    problems = [e for e in result["errors"] if e["error"] != "NOTE"]
    for problem in problems:
        typer.echo(f"problem:    {_shown(problem['source'])}: {_shown(problem['error'])}")


@app.command()
def resolve(
    url: Annotated[str, typer.Argument(help="The URL to trace (nothing is stored).")],
    as_json: JsonOption = False,
) -> None:
    """Find who hosts a URL, who registered its domain and any CDN in front.

    Exit status 0 when the hosting network was found, 1 when not, 2 for an invalid URL."""
    with errors():
        normalised = normalise_url(url)
        sources = TraceSources.from_settings(get_settings())
        result = asyncio.run(_resolve_one(normalised.url, sources))
    payload = result.to_json()
    if as_json:
        print_json(payload)
    else:
        print_summary(payload, defang(normalised.url, display_host=normalised.display_host))
    raise typer.Exit(0 if result.network is not None else 1)


@app.command()
def trace(
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many cases.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Trace every case waiting for it (new, moved, or failed and due again)."""
    with errors():
        from flows.tracing import trace_flow  # Prefect loads only when a flow runs

        get_settings()  # invalid settings fail here, as one line
        with progress_bar(as_json):
            total = trace_flow(limit=limit)
    if as_json:
        print_json(total)
        return
    typer.echo(
        f"{total['claimed']} cases traced in {total['batches']} batch(es): "
        f"{total['traced']} traced, {total['failed']} failed"
    )
    for country, count in total["countries"].items():
        typer.echo(f"  {country}: {count}")
