"""Notify: plan, group and render the notices cases are waiting for, and store them in the outbox
together with each case's move, in one transaction per batch.

Cases wait for notices when they are ``traced`` (the first round, or a new round after the
hosting moved and was traced again), ``reappeared`` (a new round), or ``held`` and cleared by the
police partner (``takedown case clear``). Notices for the same recipient and kind are grouped
across the batch's cases. Each stored notice has a ``dedupe_key`` (round, kind, recipient, hold
and the cases it covers), and a case's planned notice is dropped when an earlier one already
covers it, so running notify again never queues a notice twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from notices.directory import Directory
from notices.facts import clean_text
from notices.kinds import Circumstance, NoticeKind
from notices.mail.message import NoticeComposer
from notices.routing import PlannedNotice
from registry import audit
from registry.base import table_of
from registry.bulk.writes import insert_ignoring_conflicts, insert_rows
from registry.cases import CaseNotFound
from registry.lifecycle import allowed_next
from registry.models import Case, CaseEvent, Notice, notice_cases
from registry.notifying.facts import load_case_facts
from registry.notifying.plan import CasePlan, existing_notices, plan_cases, render_rows
from registry.status import CaseStatus, EventKind, NoticeStatus
from registry.tally import Tally

POLICE_CLEARED = "police cleared the case"
"""The reason of the case event ``takedown case clear`` records; notify looks for it."""
GAP_PREFIX = "notify: "
"""Starts the analyst reason notify gives a case it could not fully address."""
MAX_REASON = 1000
SUPERSEDED = "superseded: the police partner cleared the case; sent as a new notice"


@dataclass(slots=True)
class NotifySummary(Tally):
    """What one notify batch did."""

    cases: int = 0
    notified: int = 0
    held: int = 0
    needs_analyst: int = 0
    notices: int = 0
    notices_held: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)


def _cleared() -> Any:
    """Held cases with a police clearance newer than their latest move into ``held``."""
    moved, cleared = aliased(CaseEvent), aliased(CaseEvent)
    held_since = (
        select(func.max(moved.id))
        .where(
            moved.case_id == Case.id,
            moved.kind == EventKind.TRANSITION,
            moved.to_status == CaseStatus.HELD,
        )
        .correlate(Case)
        .scalar_subquery()
    )
    return (
        exists()
        .where(
            cleared.case_id == Case.id,
            cleared.kind == EventKind.OVERRIDE,
            cleared.reason == POLICE_CLEARED,
            cleared.id > func.coalesce(held_since, 0),
        )
        .correlate(Case)
    )


def _registrar_not_told() -> Any:
    """Cases no notice of the untraceable kind covers yet (cancelled ones do not count)."""
    return ~exists().where(
        notice_cases.c.case_id == Case.id,
        Notice.id == notice_cases.c.notice_id,
        Notice.kind == NoticeKind.REGISTRAR_UNTRACEABLE.value,
        Notice.status != NoticeStatus.CANCELLED,
    )


def _waiting() -> Any:
    # A case notify could not address stays waiting (and flagged): an analyst's override
    # contact or a directory change lets the next run reach it. A case whose host cannot be
    # traced but whose registrar is known waits for the registrar's notice, once; it keeps
    # being traced again, and once traced it waits like any other.
    return or_(
        Case.status.in_((CaseStatus.TRACED, CaseStatus.REAPPEARED)),
        and_(Case.status == CaseStatus.HELD, _cleared()),
        and_(
            Case.status == CaseStatus.TRACE_FAILED,
            Case.registrar_name.is_not(None),
            Case.needs_analyst.is_(False),
            _registrar_not_told(),
        ),
    )


def waiting_case_ids(session: Session, *, limit: int | None = None, after_id: int = 0) -> list[int]:
    """Ids of the cases waiting for notices, in id order (keyset paging from ``after_id``)."""
    query = select(Case.id).where(Case.id > after_id, _waiting()).order_by(Case.id)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def _lock(session: Session, case_ids: Sequence[int], now: datetime) -> list[Case]:
    """Take the batch's waiting cases for this transaction; rows another worker holds are
    skipped (``FOR UPDATE SKIP LOCKED``; on SQLite the first write takes the database lock)."""
    due = select(Case.id).where(Case.id.in_(case_ids), _waiting()).with_for_update(skip_locked=True)
    taken = session.execute(
        update(Case)
        .where(Case.id.in_(due.scalar_subquery()))
        .values(updated_at=now)
        .returning(Case.id)
    )
    ids = sorted(int(row[0]) for row in taken)
    if not ids:
        return []
    query = select(Case).where(Case.id.in_(ids)).order_by(Case.id)
    return list(session.scalars(query.execution_options(populate_existing=True)))


def _store(
    session: Session, rows: Sequence[tuple[dict[str, Any], PlannedNotice]]
) -> dict[int, list[tuple[int, PlannedNotice]]]:
    """Insert the notices (a clash on ``dedupe_key`` is a notice stored already) and link them
    to their cases; return, per case, the new notices covering it."""
    created = insert_ignoring_conflicts(
        session,
        table_of(Notice),
        [row for row, _ in rows],
        conflict_columns=["dedupe_key"],
        returning=["id", "dedupe_key"],
    )
    ids = {str(key): int(notice_id) for notice_id, key in created}
    per_case: dict[int, list[tuple[int, PlannedNotice]]] = {}
    links = []
    for row, notice in rows:
        notice_id = ids.get(row["dedupe_key"])
        if notice_id is None:
            continue
        for case_id in notice.case_ids:
            links.append({"notice_id": notice_id, "case_id": case_id})
            per_case.setdefault(case_id, []).append((notice_id, notice))
    insert_rows(session, notice_cases, links)
    return per_case


def _destination(plan: CasePlan) -> CaseStatus | None:
    status = plan.case.status
    wanted = CaseStatus.HELD if plan.has_hold else CaseStatus.NOTIFIED
    if wanted not in allowed_next(status):
        # A status the lifecycle does not let wait for the police is notified instead; its
        # host notice still stays held, and an analyst is asked to look.
        wanted = CaseStatus.NOTIFIED
    return wanted if wanted in allowed_next(status) else None


def _move(
    session: Session,
    plans: Sequence[CasePlan],
    created: dict[int, list[tuple[int, PlannedNotice]]],
    *,
    actor: str,
    now: datetime,
    flow_run_id: str | None,
    summary: NotifySummary,
) -> None:
    updates, events = [], []
    for plan in plans:
        case = plan.case
        problems = list(plan.problems)
        target = _destination(plan) if plan.addressed else None
        if target is CaseStatus.NOTIFIED and plan.has_hold:
            problems.append("host notice held for police clearance, but the case could not be held")
        flag = bool(problems)
        reason = clean_text(GAP_PREFIX + "; ".join(problems), MAX_REASON) if flag else None
        updates.append(
            {
                "b_id": case.id,
                "b_status": target or case.status,
                "b_round": plan.round,
                "b_flag": flag,
                "b_reason": reason,
                "b_updated_at": now,
            }
        )
        summary.needs_analyst += int(flag)
        new = created.get(case.id, [])
        if target is None:
            if plan.circumstance is Circumstance.UNTRACEABLE and new:
                # The case stays trace_failed (and keeps being traced); the notice is noted.
                told = ", ".join(f"{n.kind} to {n.recipient_address}" for _, n in new)
                events.append(
                    {
                        "case_id": case.id,
                        "at": now,
                        "kind": EventKind.NOTE,
                        "from_status": None,
                        "to_status": None,
                        "actor": actor,
                        "reason": clean_text(f"{plan.circumstance}: queued {told}", MAX_REASON),
                        "flow_run_id": flow_run_id,
                        "detail": {
                            "circumstance": plan.circumstance.value,
                            "round": plan.round,
                            "notice_ids": sorted({notice_id for notice_id, _ in new}),
                        },
                    }
                )
            continue
        summary.held += int(target is CaseStatus.HELD)
        summary.notified += int(target is CaseStatus.NOTIFIED)
        queued = ", ".join(f"{n.kind} to {n.recipient_address}" for _, n in new) or "none new"
        events.append(
            {
                "case_id": case.id,
                "at": now,
                "kind": EventKind.TRANSITION,
                "from_status": case.status,
                "to_status": target,
                "actor": actor,
                "reason": clean_text(f"{plan.circumstance}: notices queued: {queued}", MAX_REASON),
                "flow_run_id": flow_run_id,
                "detail": {
                    "circumstance": plan.circumstance.value,
                    "round": plan.round,
                    "notice_ids": sorted({notice_id for notice_id, _ in new}),
                },
            }
        )
    table = table_of(Case)
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(
            status=bindparam("b_status", type_=table.c.status.type),
            notice_round=bindparam("b_round"),
            needs_analyst=table.c.needs_analyst | bindparam("b_flag"),
            analyst_reason=func.coalesce(bindparam("b_reason"), table.c.analyst_reason),
            updated_at=bindparam("b_updated_at", type_=table.c.updated_at.type),
        )
    )
    if updates:
        session.execute(statement, updates)
    insert_rows(session, table_of(CaseEvent), events)


def _retire_held(session: Session, cleared: Sequence[int], now: datetime) -> None:
    """Cancel held notices every one of whose cases has left ``held`` (cleared or closed)."""
    if not cleared:
        return
    still_held = exists().where(
        notice_cases.c.notice_id == Notice.id,
        Case.id == notice_cases.c.case_id,
        Case.status == CaseStatus.HELD,
    )
    linked = select(notice_cases.c.notice_id).where(notice_cases.c.case_id.in_(cleared))
    session.execute(
        update(Notice)
        .where(Notice.status == NoticeStatus.HELD, Notice.id.in_(linked), ~still_held)
        .values(status=NoticeStatus.CANCELLED, last_error=SUPERSEDED)
        .execution_options(synchronize_session=False)
    )


def notify_cases(
    session: Session,
    case_ids: Sequence[int],
    *,
    directory: Directory,
    composer: NoticeComposer,
    actor: str,
    now: datetime,
    flow_run_id: str | None = None,
) -> NotifySummary:
    """Queue the notices due for the given cases (those still waiting) and move each case on.

    Flushes; the caller's unit of work commits, so the notices and the moves are stored together.
    """
    summary = NotifySummary()
    cases = _lock(session, case_ids, now)
    if not cases:
        return summary
    summary.cases = len(cases)
    facts = load_case_facts(session, cases)
    existing = existing_notices(session, [c.id for c in cases])
    plans = plan_cases(cases, facts, existing, directory)
    rows = render_rows(plans, directory, composer, now)
    created = _store(session, rows)
    stored = {notice_id: notice for new in created.values() for notice_id, notice in new}
    summary.notices = len(stored)
    summary.notices_held = sum(1 for n in stored.values() if n.hold)
    summary.by_kind.update(n.kind.value for n in stored.values())
    cleared = [p.case.id for p in plans if p.case.status is CaseStatus.HELD]
    _move(
        session,
        plans,
        created,
        actor=actor,
        now=now,
        flow_run_id=flow_run_id,
        summary=summary,
    )
    session.flush()
    _retire_held(session, cleared, now)
    session.expire_all()
    return summary


class NotHeld(ValueError):
    """Only a case held for police clearance can be cleared."""


def clear_case(session: Session, case_id: int, *, by: str, now: datetime) -> Case:
    """Record that the police partner cleared a held case; the next notify run sends the
    host-side notices. The clearance is a case event and an audit entry. Flushes."""
    case = session.get(Case, case_id)
    if case is None:
        raise CaseNotFound(f"there is no case {case_id}")
    if case.status is not CaseStatus.HELD:
        raise NotHeld(f"case {case_id} is not held for police clearance (it is '{case.status}')")
    actor = clean_text(by, 128) or "unknown"
    session.add(
        CaseEvent(
            case_id=case.id,
            at=now,
            kind=EventKind.OVERRIDE,
            actor=actor,
            reason=POLICE_CLEARED,
            detail={"action": "police_cleared"},
        )
    )
    audit.record(
        session,
        actor=actor,
        action=audit.AuditAction.STATE_CHANGE,
        subject=f"case {case.id}",
        detail={"action": "police_cleared", "case": case.reference},
        now=now,
    )
    session.flush()
    return case
