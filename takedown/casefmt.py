"""How cases look on a terminal and in ``--json``. URLs for people are always defanged."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import typer

from registry.cases import CaseSummary
from registry.models import Case
from registry.queries import Correspondence


def print_case_table(summaries: Sequence[CaseSummary]) -> None:
    if not summaries:
        typer.echo("no cases")
        return
    typer.echo(f"{'ID':>7}  {'STATUS':<12}  {'OPENED (UTC)':<16}  {'REPORTS':>7}  URL")
    for case in summaries:
        typer.echo(
            f"{case.id:>7}  {case.status.value:<12}  {case.opened_at:%Y-%m-%d %H:%M}  "
            f"{len(case.reports):>7}  {case.display_url}"
        )


def case_detail_json(case: Case, thread: Sequence[Correspondence]) -> dict[str, Any]:
    """Everything about one case (``takedown case show ID --json``), with its correspondence."""

    def when(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": case.id,
        "reference": case.reference,
        "url": case.url,
        "display_url": case.display_url,
        "host": case.host,
        "registrable_domain": case.registrable_domain,
        "status": case.status.value,
        "escalation_level": case.escalation_level,
        "needs_analyst": case.needs_analyst,
        "analyst_reason": case.analyst_reason,
        "ticket": case.ticket,
        "category": case.category,
        "content_sha256": case.content_sha256,
        "hosting_country": case.hosting_country,
        "hosting_network": case.hosting_network,
        "hosting_asn": case.hosting_asn,
        "registrar": case.registrar_name,
        "cdn": case.cdn_name,
        "confirmed_at": when(case.confirmed_at),
        "opened_at": when(case.opened_at),
        "traced_at": when(case.traced_at),
        "first_notice_at": when(case.first_notice_at),
        "removal_verified_at": when(case.removal_verified_at),
        "closed_at": when(case.closed_at),
        "next_check_at": when(case.next_check_at),
        "reports": [
            {
                "source": r.source,
                "report_id": r.report_id,
                "confirmed_at": when(r.confirmed_at),
                "category": r.category,
                "analyst": r.analyst,
                "content_sha256": r.content_sha256,
                "notes": r.notes,
                "received_at": when(r.received_at),
            }
            for r in case.reports
        ],
        "events": [
            {
                "at": when(e.at),
                "kind": e.kind.value,
                "from_status": e.from_status.value if e.from_status else None,
                "to_status": e.to_status.value if e.to_status else None,
                "actor": e.actor,
                "reason": e.reason,
                "flow_run_id": e.flow_run_id,
            }
            for e in case.events
        ],
        "correspondence": [
            {
                "at": when(m.at),
                "direction": "sent" if m.sent else "received",
                "party": m.party,
                "subject": m.subject,
                "what": m.what,
                "text": m.text,
                "attachments": list(m.attachments),
            }
            for m in thread
        ],
    }


def print_case(case: Case, thread: Sequence[Correspondence]) -> None:
    typer.echo(f"{case.reference}  {case.display_url}")
    typer.echo(f"  status      {case.status.value}  (escalation level {case.escalation_level})")
    if case.needs_analyst:
        typer.echo(f"  ANALYST     {case.analyst_reason or 'needs an analyst'}")
    if case.ticket:
        typer.echo(f"  host ticket {case.ticket}")
    typer.echo(f"  category    {case.category}")
    typer.echo(f"  confirmed   {case.confirmed_at:%Y-%m-%d %H:%M} UTC")
    typer.echo(f"  opened      {case.opened_at:%Y-%m-%d %H:%M} UTC")
    if case.hosting_network or case.hosting_country:
        typer.echo(f"  hosted by   {case.hosting_network or '?'} ({case.hosting_country or '?'})")
    if case.registrar_name:
        typer.echo(f"  registrar   {case.registrar_name}")
    if case.cdn_name:
        typer.echo(f"  behind CDN  {case.cdn_name} (origin unknown)")
    typer.echo(f"  reports     {len(case.reports)}")
    for report in case.reports:
        typer.echo(
            f"    {report.source}/{report.report_id}  confirmed "
            f"{report.confirmed_at:%Y-%m-%d %H:%M}  category {report.category}"
        )
    typer.echo("  timeline")
    for event in case.events:
        change = f"{event.from_status or '-'} -> {event.to_status}" if event.to_status else ""
        typer.echo(
            f"    {event.at:%Y-%m-%d %H:%M:%S}  {event.kind.value:<16} {change:<24} "
            f"{event.actor}: {event.reason}"
        )
    typer.echo("  correspondence" if thread else "  correspondence: none yet")
    for m in thread:
        arrow = "->" if m.sent else "<-"
        typer.echo(
            f"    {m.at:%Y-%m-%d %H:%M:%S}  {arrow} {_plain(m.party)}  [{_plain(m.what)}]  "
            f"{_plain(m.subject)[:120]}"
        )


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _plain(text: str) -> str:
    """Another party's text for a terminal: no escape sequences, no line breaks."""
    return _CONTROL.sub(" ", text)
