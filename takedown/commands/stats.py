"""``takedown stats``, ``takedown blocklist`` and ``takedown domains mark|unmark|list``."""

from __future__ import annotations

import os
import re
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, TextIO

import typer

from registry import audit
from registry.db import unit_of_work
from registry.reporting.blocklist import (
    DEFAULT_RPZ_ZONE,
    BlocklistFormat,
    blocked_urls,
    mark_domain,
    marked_domains,
    rpz_serial,
    rpz_zone,
    unmark_domain,
    write_csv,
    write_text,
)
from registry.reporting.figures import GroupFigures, TakedownStats, format_duration
from registry.reporting.stats import compute_stats
from takedown.app import app
from takedown.charts import removal_time_chart
from takedown.clikit import JsonOption, current_user, engine, errors, print_json

_UNPRINTABLE = re.compile(r"[^\x20-\x7e\u00a0-\u2027\u2030-\uffff]")

domains_app = typer.Typer(
    help="Domains wholly dedicated to abuse, blocked whole by partner resolvers (RPZ).",
    no_args_is_help=True,
)
app.add_typer(domains_app, name="domains")


class InvalidDate(ValueError):
    """A --since value that is not an ISO 8601 date or date-time."""


def parse_since(value: str) -> datetime:
    """``2026-10-01`` (midnight UTC) or an ISO 8601 date-time (UTC when it names no zone)."""
    text = value.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidDate(
            f"--since '{value[:40]}' is not a date such as 2026-10-01 or 2026-10-01T08:00:00Z"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@app.command()
def stats(
    since: Annotated[
        str | None,
        typer.Option(
            metavar="DATE", help="Only cases confirmed (and notices created) from this date, UTC."
        ),
    ] = None,
    chart: Annotated[
        Path | None,
        typer.Option(help="Also draw the removal times per country into this PNG file."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """How many cases and notices, and how fast content comes down (medians, 90th percentiles)."""
    with errors():
        start = parse_since(since) if since is not None else None
        with unit_of_work(engine()) as session:
            figures = compute_stats(session, since=start)
        if chart is not None:
            chart.write_bytes(removal_time_chart(figures))
    if as_json:
        print_json(figures.to_json())
    else:
        print_stats(figures)
        if chart is not None:
            typer.echo(f"\nchart written to {chart}")


@app.command()
def blocklist(
    jurisdiction: Annotated[
        str | None,
        typer.Option(metavar="CC", help="Only URLs hosted in this country (two-letter code)."),
    ] = None,
    fmt: Annotated[
        BlocklistFormat,
        typer.Option("--format", help="csv or txt: the URL list; rpz: the marked domains."),
    ] = BlocklistFormat.CSV,
    include_held: Annotated[
        bool, typer.Option(help="Also list cases held for law-enforcement deconfliction.")
    ] = False,
    zone: Annotated[str, typer.Option(help="The RPZ zone's name.")] = DEFAULT_RPZ_ZONE,
    out: Annotated[
        Path | None,
        typer.Option(help="Write to this file (readable by its owner only), not to stdout."),
    ] = None,
) -> None:
    """The blocking list for partner ISPs: real URLs, so keep it confidential."""
    with errors(), unit_of_work(engine()) as session:
        target: TextIO = _private_file(out) if out is not None else sys.stdout
        try:
            if fmt is BlocklistFormat.RPZ:
                marks = marked_domains(session)
                target.write(rpz_zone(marks, rpz_serial(session), zone=zone))
                count, what = len(marks), "domains"
            else:
                entries = blocked_urls(
                    session, jurisdiction=jurisdiction, include_held=include_held
                )
                writer = write_csv if fmt is BlocklistFormat.CSV else write_text
                count, what = writer(entries, target), "URLs"
        finally:
            if out is not None:
                target.close()
        # A list of case URLs leaving the system is a record download: it is audited.
        audit.record(
            session,
            actor=current_user(),
            action=audit.AuditAction.EXPORT,
            subject=f"blocklist:{fmt.value}",
            detail={"jurisdiction": jurisdiction, "include_held": include_held, "count": count},
        )
    if out is not None:
        typer.echo(f"wrote {count} {what} to {out}", err=True)


def _private_file(path: Path) -> TextIO:
    """Open ``path`` for writing with mode 0600 from the start: the list is sensitive."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    return open(descriptor, "w", encoding="utf-8", newline="")


@domains_app.command("mark")
def domains_mark(
    domain: Annotated[str, typer.Argument(help="The domain, e.g. example.bz.")],
    reason: Annotated[str, typer.Option(help="Why the whole domain is dedicated to abuse.")],
) -> None:
    """Mark a domain as wholly dedicated to abuse: it goes into the RPZ, with every subdomain."""
    with errors(), unit_of_work(engine()) as session:
        mark = mark_domain(session, domain, reason=reason, actor=current_user())
        typer.echo(f"marked {mark.domain} (and every name below it)")


@domains_app.command("unmark")
def domains_unmark(domain: Annotated[str, typer.Argument(help="A marked domain.")]) -> None:
    """Remove a domain's mark; the next RPZ no longer blocks it."""
    with errors(), unit_of_work(engine()) as session:
        mark = unmark_domain(session, domain, actor=current_user())
        typer.echo(f"unmarked {mark.domain}")


@domains_app.command("list")
def domains_list(as_json: JsonOption = False) -> None:
    """The marked domains: who marked each, when and why."""
    with errors(), unit_of_work(engine()) as session:
        marks = [
            {
                "domain": m.domain,
                "marked_by": m.marked_by,
                "marked_at": m.marked_at.isoformat(),
                "reason": m.reason,
            }
            for m in marked_domains(session)
        ]
    if as_json:
        print_json(marks)
        return
    if not marks:
        typer.echo("no marked domains")
    for m in marks:
        typer.echo(
            f"{m['domain']:<40}  {m['marked_at'][:16]}  {terminal_safe(m['marked_by'], 20):<20}"
            f"  {terminal_safe(m['reason'], 80)}"
        )


def terminal_safe(text: str | None, width: int) -> str:
    """Registry text (provider names come from WHOIS and RDAP) made harmless for a terminal:
    no control or escape characters, at most ``width`` characters."""
    if text is None:
        return "unknown"
    clean = _UNPRINTABLE.sub("?", text)
    return clean if len(clean) <= width else clean[: width - 1] + "…"


def print_stats(figures: TakedownStats) -> None:
    """The figures as a plain-text report."""
    period = (
        f"cases confirmed since {figures.since:%Y-%m-%d %H:%M} UTC"
        if figures.since
        else "all cases"
    )
    typer.echo(f"Takedown statistics: {period} (as of {figures.generated_at:%Y-%m-%d %H:%M} UTC)")
    states = ", ".join(f"{s} {n}" for s, n in figures.cases_by_state.items() if n) or "none"
    typer.echo(f"\nCases: {figures.total_cases} ({states})")
    sent = figures.notices_by_status["sent"]
    typer.echo(f"Notices: {figures.total_notices} ({sent} sent)")
    for kind, count in figures.notices_by_kind.items():
        typer.echo(f"  {terminal_safe(kind, 30):<30} {count.total:>7} ({count.sent} sent)")
    if figures.notices_by_recipient:
        typer.echo("  busiest recipients:")
    for r in figures.notices_by_recipient[:10]:
        typer.echo(
            f"    {terminal_safe(r.email, 40):<40} {terminal_safe(r.role, 10):<10} "
            f"{r.count.total:>7} ({r.count.sent} sent)"
        )
    typer.echo("\nTimes are median / 90th percentile.")
    typer.echo(
        f"  {'':<26} {'cases':>6}  {'confirmed → notice':>21}  {'notice → removed':>21}"
        f"  {'removed':>7}  {'still up':>8}"
    )
    _group_line("all", figures.overall)
    for title, groups in (
        ("By hosting country", figures.by_country),
        ("By hosting provider (20 biggest)", figures.by_provider[:20]),
        ("Slowest providers (by median time to removal)", figures.slowest_providers),
    ):
        typer.echo(f"{title}:")
        if not groups:
            typer.echo("  none")
        for group in groups:
            _group_line(group.name, group)
    reappeared = figures.reappearance
    rate = f"{reappeared.rate:.1%}" if reappeared.rate is not None else "no removals yet"
    typer.echo(
        f"\nReappeared: {reappeared.reappeared} of {reappeared.removed} removed cases ({rate})"
    )


def _group_line(name: str | None, group: GroupFigures) -> None:
    notice, removal = group.to_first_notice, group.to_removal
    to_notice = f"{format_duration(notice.median_seconds)} / {format_duration(notice.p90_seconds)}"
    to_removal = (
        f"{format_duration(removal.median_seconds)} / {format_duration(removal.p90_seconds)}"
    )
    typer.echo(
        f"  {terminal_safe(name, 26):<26} {group.cases:>6}  {to_notice:>21}  {to_removal:>21}"
        f"  {group.removed:>7}  {group.awaiting_removal:>8}"
    )
