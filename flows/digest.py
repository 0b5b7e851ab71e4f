"""The daily digest: the takedown figures published as Prefect artifacts (markdown and a table).

Thin: the figures come from :func:`registry.reporting.stats.compute_stats`; this module only
words them.
Schedule it daily (``prefect.yaml``); ``period_days`` sets how far back the cases go. It also
checks the audit log and appends a signed checkpoint of its head (``records.checkpoints``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from flows.markdown import cell
from records.checkpoints import check_log, checkpoint_summary
from records.signing import configured_key
from registry.base import utcnow
from registry.db import engine_for, unit_of_work
from registry.reporting.figures import format_duration
from registry.reporting.stats import compute_stats
from settings import get_settings

DIGEST_KEY = "takedown-digest"
TABLE_KEY = "takedown-removal-times"
MAX_ROWS = 25
"""Countries and providers listed in the digest (the JSON from the CLI has them all)."""


@task(name="compute-stats", cache_policy=NO_CACHE)
def compute_figures(since: datetime | None, database_url: str | None = None) -> dict[str, Any]:
    """The figures of ``takedown stats --json`` for cases confirmed since ``since``."""
    with unit_of_work(engine_for(database_url)) as session:
        return compute_stats(session, since=since).to_json()


@task(name="checkpoint-audit-log", cache_policy=NO_CACHE)
def checkpoint_audit_log(database_url: str | None = None) -> dict[str, Any]:
    """Check the audit log against its checkpoints and, when it is intact, append a signed
    checkpoint of its head to ``TAKEDOWN_AUDIT_CHECKPOINT_FILE`` (so at least one a day)."""
    settings = get_settings()
    signing = settings.signing_key
    key = configured_key(signing.get_secret_value()) if signing else None
    with unit_of_work(engine_for(database_url)) as session:
        check = check_log(session, settings.audit_checkpoint_file, key, now=utcnow())
    return checkpoint_summary(check)


def _times(group: dict[str, Any], key: str) -> str:
    figures = group[key]
    return (
        f"{format_duration(figures['median_seconds'])} / {format_duration(figures['p90_seconds'])}"
    )


def digest_markdown(figures: dict[str, Any]) -> str:
    """The digest as markdown, from the JSON figures."""
    since = figures["period"]["since"]
    period = f"cases confirmed since {since[:10]}" if since else "all cases"
    states = figures["cases"]["by_state"]
    notices = figures["notices"]
    overall = figures["times"]["overall"]
    reappearance = figures["reappearance"]
    rate = reappearance["rate"]
    lines = [
        f"# Takedown digest: {period}",
        f"As of {figures['period']['generated_at'][:16].replace('T', ' ')} UTC.",
        "",
        f"**{figures['cases']['total']} cases**: "
        + (", ".join(f"{state} {n}" for state, n in states.items() if n) or "none"),
        f"**{notices['total']} notices** ({notices['by_status']['sent']} sent): "
        + (", ".join(f"{cell(k['kind'])} {k['total']}" for k in notices["by_kind"]) or "none"),
        "",
        "Times are median / 90th percentile.",
        "",
        "| | cases | confirmed → first notice | first notice → removed | removed | still up |",
        "|---|---:|---:|---:|---:|---:|",
        _row("**all**", overall),
    ]
    lines += [_row(cell(g["country"]), g) for g in figures["times"]["by_country"][:MAX_ROWS]]
    slowest = figures["slowest_providers"]
    if slowest:
        lines += ["", "## Slowest providers", "", "| provider | cases | first notice → removed "]
        lines[-1] += "| removed | still up |"
        lines += ["|---|---:|---:|---:|---:|"]
        lines += [
            f"| {cell(g['provider'])} | {g['cases']} | {_times(g, 'time_to_removal')} "
            f"| {g['removed']} | {g['awaiting_removal']} |"
            for g in slowest
        ]
    lines += [
        "",
        f"**Reappeared**: {reappearance['reappeared']} of {reappearance['removed']} removed cases"
        + (f" ({rate:.1%})." if rate is not None else "."),
    ]
    return "\n".join(lines) + "\n"


def _row(name: str, group: dict[str, Any]) -> str:
    return (
        f"| {name} | {group['cases']} | {_times(group, 'time_to_first_notice')} "
        f"| {_times(group, 'time_to_removal')} | {group['removed']} | {group['awaiting_removal']} |"
    )


def country_table(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per hosting country, in hours, for the table artifact."""

    def hours(value: float | None) -> float | None:
        return round(value / 3600, 2) if value is not None else None

    return [
        {
            "country": g["country"] or "unknown",
            "cases": g["cases"],
            "removed": g["removed"],
            "still_up": g["awaiting_removal"],
            "notice_median_h": hours(g["time_to_first_notice"]["median_seconds"]),
            "notice_p90_h": hours(g["time_to_first_notice"]["p90_seconds"]),
            "removal_median_h": hours(g["time_to_removal"]["median_seconds"]),
            "removal_p90_h": hours(g["time_to_removal"]["p90_seconds"]),
        }
        for g in figures["times"]["by_country"]
    ]


@flow(name="daily-digest", log_prints=False)
def digest_flow(period_days: int | None = 30, database_url: str | None = None) -> dict[str, Any]:
    """Publish the figures of the last ``period_days`` days (all cases if None)."""
    since = utcnow() - timedelta(days=period_days) if period_days else None
    figures = compute_figures(since, database_url)
    create_markdown_artifact(
        digest_markdown(figures), key=DIGEST_KEY, description="Takedown figures"
    )
    create_table_artifact(
        country_table(figures), key=TABLE_KEY, description="Removal times by hosting country"
    )
    logger = get_run_logger()
    logger.info(
        "digest: %d cases, %d verified removals",
        figures["cases"]["total"],
        figures["times"]["overall"]["time_to_removal"]["count"],
    )
    audit = checkpoint_audit_log(database_url)
    for problem in audit["problems"]:
        logger.error("audit log: %s", problem)
    for note in audit["notes"]:
        logger.warning("audit log: %s", note)
    return figures
