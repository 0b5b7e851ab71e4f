"""Persisting traces: what each case's trace found, the evidence behind it, and where the case
goes next (``traced`` when the hosting network was found, ``trace_failed`` otherwise).

Everything is written in bulk: one statement per table for a whole batch, never one ORM round
trip per row. Services flush; the caller's unit of work commits.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, update
from sqlalchemy.orm import Session

from hosting.trace import Evidence as Answer
from hosting.trace import HostingResult
from registry.base import table_of
from registry.bulk.writes import insert_rows
from registry.lifecycle import check_transition
from registry.models import Case, CaseEvent, Evidence, Resolution
from registry.status import CaseStatus, EventKind
from registry.tally import Tally
from registry.tracing.claims import ClaimedCase, TraceRetry, still_claimed
from registry.tracing.orgs import (
    CaseParties,
    clean_country,
    clean_name,
    ensure_organisations,
    merge_sightings,
    parties_of,
)

MAX_QUERY = 512
MAX_REASON = 1000
BINARY_PREFIX = "base64:"
"""Marks an evidence answer stored as base64 because it is not UTF-8 text."""


@dataclass(slots=True)
class BatchSummary(Tally):
    """What one trace batch did."""

    claimed: int = 0
    traced: int = 0
    failed: int = 0
    skipped: int = 0
    """Claimed cases no longer ours when the results came (withdrawn, or re-claimed)."""
    countries: Counter[str] = field(default_factory=Counter)
    """Traced cases per hosting country (``unknown``: behind a CDN or not given)."""
    queries: int = 0
    cache_loaded: int = 0
    cache_written: int = 0


def is_traced(result: HostingResult) -> bool:
    """A trace succeeds when it found the hosting network."""
    return result.network is not None


def failure_reason(result: HostingResult) -> str:
    """The errors of a failed trace in one line, for the case event."""
    parts = []
    for failure in result.errors:
        if failure.error == "NOTE":
            continue
        text = f"{failure.source}: {failure.error}"
        if failure.detail:
            text += f" ({clean_name(failure.detail, 200)})"
        parts.append(text)
    reason = "; ".join(parts) or "no hosting network found"
    return f"trace failed: {reason}"[:MAX_REASON]


def evidence_text(answer: Answer) -> str:
    """The kept answer as storable text that gives back its exact bytes.

    UTF-8 text is stored as it came; anything else (DNS wire format, other encodings, NUL
    bytes, which PostgreSQL text cannot hold) as :data:`BINARY_PREFIX` and base64. A text
    answer that itself starts with the prefix is stored as base64 too, so there is one reading.
    """
    try:
        text = answer.raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and "\x00" not in text and not text.startswith(BINARY_PREFIX):
        return text
    return BINARY_PREFIX + base64.b64encode(answer.raw).decode("ascii")


def evidence_bytes(stored: str) -> bytes:
    """The bytes an evidence row's ``raw`` stands for (the inverse of :func:`evidence_text`)."""
    if stored.startswith(BINARY_PREFIX):
        return base64.b64decode(stored[len(BINARY_PREFIX) :])
    return stored.encode("utf-8")


def record_results(
    session: Session,
    claimed: Sequence[ClaimedCase],
    results: Sequence[HostingResult],
    *,
    actor: str,
    now: datetime,
    retry: TraceRetry | None = None,
    flow_run_id: str | None = None,
) -> BatchSummary:
    """Store the trace of every claimed case (``results`` in the same order) that is still
    ours, and move it on. Flushes; the caller commits."""
    policy = retry or TraceRetry()
    summary = BatchSummary(claimed=len(claimed))
    held = still_claimed(session, claimed, now)
    pairs = [(c, r) for c, r in zip(claimed, results, strict=True) if c.id in held]
    summary.skipped = len(claimed) - len(pairs)
    if not pairs:
        return summary
    parties: list[CaseParties] = []
    sightings = []
    for _, result in pairs:
        case_parties, seen = parties_of(result)
        parties.append(case_parties)
        sightings.append(seen)
    org_ids = ensure_organisations(session, merge_sightings(sightings), now)
    resolution_ids = _insert_resolutions(session, pairs, now, flow_run_id)
    _insert_evidence(session, pairs, resolution_ids)
    updates, events = [], []
    for (case, result), who in zip(pairs, parties, strict=True):
        ok = is_traced(result)
        status = check_transition(
            CaseStatus.TRACING, CaseStatus.TRACED if ok else CaseStatus.TRACE_FAILED
        )
        network = result.network
        flagged = not ok and case.attempts >= policy.analyst_after
        updates.append(
            {
                "b_id": case.id,
                "b_status": status,
                "b_hosting_country": clean_country(result.hosting_country),
                "b_hosting_network": clean_name(network.name or network.organisation)
                if network
                else None,
                "b_hosting_asn": network.asn if network else None,
                "b_registrar_name": clean_name(result.registrar.name) if result.registrar else None,
                "b_cdn_name": clean_name(result.cdn.provider.name) if result.cdn else None,
                "b_host_organisation_id": org_ids.get(who.host) if who.host else None,
                "b_registrar_organisation_id": org_ids.get(who.registrar)
                if who.registrar
                else None,
                "b_cdn_organisation_id": org_ids.get(who.cdn) if who.cdn else None,
                "b_traced_at": now if ok else None,
                # Traced: due for its first removal check now; failed: the next attempt.
                "b_next_check_at": now if ok else policy.next_attempt(case.attempts, now),
                "b_flag": flagged,
                "b_reason": f"tracing failed {case.attempts} times" if flagged else None,
                "b_updated_at": now,
            }
        )
        if ok:
            summary.traced += 1
            summary.countries[clean_country(result.hosting_country) or "unknown"] += 1
        else:
            summary.failed += 1
        events.append(
            {
                "case_id": case.id,
                "at": now,
                "kind": EventKind.TRANSITION,
                "from_status": CaseStatus.TRACING,
                "to_status": status,
                "actor": actor,
                "reason": "hosting network found" if ok else failure_reason(result),
                "flow_run_id": flow_run_id,
                "detail": {"resolution_id": resolution_ids[case.id], "attempt": case.attempts},
            }
        )
    _update_cases(session, updates)
    insert_rows(session, table_of(CaseEvent), events)
    session.flush()
    return summary


def _insert_resolutions(
    session: Session,
    pairs: Sequence[tuple[ClaimedCase, HostingResult]],
    now: datetime,
    flow_run_id: str | None,
) -> dict[int, int]:
    table = table_of(Resolution)
    rows = [
        {
            "case_id": case.id,
            "resolved_at": now,
            "ok": is_traced(result),
            "result": result.to_json(),
            "flow_run_id": flow_run_id,
        }
        for case, result in pairs
    ]
    created = session.execute(
        insert(table).returning(table.c.id, table.c.case_id, sort_by_parameter_order=True), rows
    ).all()
    return {int(row.case_id): int(row.id) for row in created}


def _insert_evidence(
    session: Session,
    pairs: Sequence[tuple[ClaimedCase, HostingResult]],
    resolution_ids: dict[int, int],
) -> None:
    rows = [
        {
            "resolution_id": resolution_ids[case.id],
            "kind": clean_name(answer.kind, 32) or "unknown",
            "server": clean_name(answer.server) or "unknown",
            "query": clean_name(answer.query, MAX_QUERY) or "",
            "at": answer.at,
            "sha256": answer.sha256,
            "raw": evidence_text(answer),
            "truncated": answer.truncated,
        }
        for case, result in pairs
        for answer in result.evidence
    ]
    insert_rows(session, table_of(Evidence), rows)


COPIED = (
    "status",
    "hosting_country",
    "hosting_network",
    "hosting_asn",
    "registrar_name",
    "cdn_name",
    "host_organisation_id",
    "registrar_organisation_id",
    "cdn_organisation_id",
    "next_check_at",
    "updated_at",
)
"""Case columns a trace sets outright; each comes as the parameter ``b_<column>``."""


def _param(table: Table, column: str, name: str | None = None) -> Any:
    # Typed, so timestamps and enums are converted as the column converts them.
    return bindparam(name or f"b_{column}", type_=table.c[column].type)


def _update_cases(session: Session, updates: list[dict[str, Any]]) -> None:
    if not updates:
        return
    table = table_of(Case)
    values: dict[str, Any] = {column: _param(table, column) for column in COPIED}
    # Stamped on the first entry into traced only, as registry.cases.move_case does.
    values["traced_at"] = func.coalesce(table.c.traced_at, _param(table, "traced_at"))
    values["needs_analyst"] = table.c.needs_analyst | _param(table, "needs_analyst", "b_flag")
    values["analyst_reason"] = func.coalesce(
        _param(table, "analyst_reason", "b_reason"), table.c.analyst_reason
    )
    statement = update(table).where(table.c.id == bindparam("b_id")).values(values)
    session.execute(statement, updates)
