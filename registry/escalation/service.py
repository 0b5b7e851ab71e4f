"""Escalate: take the ladder steps that are due (:mod:`registry.escalation.ladder`) for cases whose
content is still up after notice, in one transaction per batch.

A reminder or an escalation is planned by the notices routing with the circumstance
``reminder`` / ``escalation`` (whoever was asked to act is reminded; an escalation also tells the
registrar and the police partner where no partner hotline handles the country), rendered, and
stored in the outbox like every other notice, so the sending window and quiet days apply. The
analyst step flags the case. Every step is a case event carrying the ladder's key, and the
notices' ``dedupe_key`` is made from the same keys: a step is taken once however often the
ladder runs, and two workers never take it twice (the cases are locked ``SKIP LOCKED``).

The ladder's clock starts when the first notice of the case's current round was sent, so a
case that moved or reappeared climbs the ladder again from the bottom of its new round. A case
whose last check found the content gone is left alone while its removal is being verified.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from notices.directory import Directory
from notices.facts import clean_text
from notices.kinds import Circumstance
from notices.mail.message import NoticeComposer
from notices.routing import PlannedNotice, plan_notices
from registry import audit
from registry.bulk.writes import insert_ignoring_conflicts, insert_rows
from registry.escalation.ladder import (
    LADDER_STATUSES,
    DueStep,
    Ladder,
    LadderPosition,
    Step,
    due_step,
)
from registry.models import Case, CaseEvent, Notice, notice_cases
from registry.notifying.facts import FactsProblem, load_case_facts
from registry.notifying.plan import compose_rows
from registry.status import EventKind, NoticeStatus
from registry.tally import Tally

ACTOR = "flow:escalate"
MAX_REASON = 1000
ANALYST_PREFIX = "escalate: "
"""Starts the analyst reason the ladder gives a case."""

_CIRCUMSTANCE = {Step.REMINDER: Circumstance.REMINDER, Step.ESCALATION: Circumstance.ESCALATION}


def ladder_of(directory: Directory) -> Ladder:
    """The ladder timings of the directory's ``escalation`` section."""
    policy = directory.escalation
    return Ladder(policy.reminder_interval, policy.escalation_delay, policy.analyst_delay)


@dataclass(slots=True)
class EscalateSummary(Tally):
    """What one escalate batch did."""

    cases: int = 0
    reminders: int = 0
    escalations: int = 0
    analyst: int = 0
    needs_analyst: int = 0
    """Cases newly flagged: the analyst step, or a step nobody could be told of."""
    notices: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)


def ladder_case_ids(session: Session, *, limit: int | None = None, after_id: int = 0) -> list[int]:
    """Ids of the cases the ladder may concern (told, content not known gone), in id order."""
    query = (
        select(Case.id)
        .where(
            Case.id > after_id,
            Case.status.in_(LADDER_STATUSES),
            Case.first_notice_at.is_not(None),
        )
        .order_by(Case.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def _round_starts(session: Session, case_ids: Sequence[int]) -> dict[int, datetime]:
    """When the first notice of each case's current round was sent."""
    rows = session.execute(
        select(notice_cases.c.case_id, func.min(Notice.sent_at))
        .join(Notice, Notice.id == notice_cases.c.notice_id)
        .join(Case, Case.id == notice_cases.c.case_id)
        .where(
            notice_cases.c.case_id.in_(case_ids),
            Notice.status == NoticeStatus.SENT,
            Notice.round == Case.notice_round,
        )
        .group_by(notice_cases.c.case_id)
    )
    return {case_id: at for case_id, at in rows if at is not None}


def _steps_taken(session: Session, case_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """The ladder steps each case has had (the ``detail`` of its escalation events)."""
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    rows = session.execute(
        select(CaseEvent.case_id, CaseEvent.detail).where(
            CaseEvent.case_id.in_(case_ids), CaseEvent.kind == EventKind.ESCALATION
        )
    )
    for case_id, detail in rows:
        if isinstance(detail, dict) and "key" in detail:
            found[case_id].append(detail)
    return found


def due_steps(
    session: Session, cases: Sequence[Case], ladder: Ladder, now: datetime
) -> dict[int, DueStep]:
    """The step due now for each of ``cases`` that has one, never one already taken."""
    ids = [case.id for case in cases]
    starts = _round_starts(session, ids)
    taken = _steps_taken(session, ids)
    due: dict[int, DueStep] = {}
    for case in cases:
        start = starts.get(case.id)
        if start is None:
            continue  # this round's notices have not left yet: the clock has not started
        if case.consecutive_removed > 0:
            continue  # the last check found it gone: removal is being verified, not ignored
        steps = taken.get(case.id, [])
        this_round = [int(s.get("level", 0)) for s in steps if s.get("round") == case.notice_round]
        level = max(this_round, default=0 if steps else case.escalation_level)
        last = case.last_reminder_at
        position = LadderPosition(
            status=case.status,
            first_notice_at=start,
            last_reminder_at=last if last is not None and last >= start else None,
            escalation_level=level,
            notice_round=case.notice_round,
        )
        step = due_step(position, ladder, now)
        if step is not None and all(s["key"] != step.key for s in steps):
            due[case.id] = step
    return due


def _lock(session: Session, case_ids: Sequence[int], now: datetime) -> list[Case]:
    """Take the cases for this transaction; rows another worker holds are skipped."""
    wanted = (
        select(Case.id)
        .where(Case.id.in_(case_ids), Case.status.in_(LADDER_STATUSES))
        .with_for_update(skip_locked=True)
    )
    taken = session.execute(
        update(Case)
        .where(Case.id.in_(wanted.scalar_subquery()))
        .values(updated_at=now)
        .returning(Case.id)
        .execution_options(synchronize_session=False)
    )
    ids = sorted(int(row[0]) for row in taken)
    if not ids:
        return []
    query = select(Case).where(Case.id.in_(ids)).order_by(Case.id)
    return list(session.scalars(query.execution_options(populate_existing=True)))


def dedupe_key(notice: PlannedNotice, keys: dict[int, str]) -> str:
    """The notice's outbox key: kind, recipient, and the ladder key of every case it covers."""
    parts = [
        "ladder",
        notice.kind.value,
        notice.recipient_address.lower(),
        *(f"{case_id}={keys[case_id]}" for case_id in sorted(notice.case_ids)),
    ]
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return f"{notice.kind.value}:{digest}"


@dataclass(slots=True)
class _Planned:
    case: Case
    step: DueStep
    notices: list[PlannedNotice] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notice_ids: list[int] = field(default_factory=list)


def _plan(
    session: Session, cases: Sequence[Case], due: dict[int, DueStep], directory: Directory
) -> list[_Planned]:
    planned = [_Planned(case, due[case.id]) for case in cases if case.id in due]
    noticed = [p.case for p in planned if p.step.step in _CIRCUMSTANCE]
    facts = load_case_facts(session, noticed) if noticed else {}
    for item in planned:
        circumstance = _CIRCUMSTANCE.get(item.step.step)
        if circumstance is None:
            continue
        found = facts[item.case.id]
        if isinstance(found, FactsProblem):
            item.problems.append(found.reason)
            continue
        routed = plan_notices(found, directory, circumstance)
        item.notices.extend(routed.notices)
        item.problems.extend(routed.gaps)
    return planned


def _render_and_store(
    session: Session,
    planned: Sequence[_Planned],
    directory: Directory,
    composer: NoticeComposer,
    now: datetime,
) -> list[tuple[int, PlannedNotice]]:
    """Group, render and store the planned notices; link them to their cases; return them."""
    by_case = {p.case.id: p for p in planned}
    keys = {p.case.id: p.step.key for p in planned}
    rounds: dict[int, list[PlannedNotice]] = defaultdict(list)
    for item in planned:
        rounds[item.case.notice_round].extend(item.notices)
    rows = compose_rows(
        rounds,
        {case_id: item.problems for case_id, item in by_case.items()},
        directory,
        composer,
        now,
        key_for=lambda notice, _round: dedupe_key(notice, keys),
        honour_hold=False,
    )
    table = Notice.__table__
    assert isinstance(table, Table)
    created = insert_ignoring_conflicts(
        session,
        table,
        [row for row, _ in rows],
        conflict_columns=["dedupe_key"],
        returning=["id", "dedupe_key"],
    )
    ids = {str(key): int(notice_id) for notice_id, key in created}
    stored, links = [], []
    for row, notice in rows:
        notice_id = ids.get(str(row["dedupe_key"]))
        if notice_id is None:
            continue  # stored already (another worker, an earlier run): not sent twice
        stored.append((notice_id, notice))
        for case_id in notice.case_ids:
            links.append({"notice_id": notice_id, "case_id": case_id})
            by_case[case_id].notice_ids.append(notice_id)
    insert_rows(session, notice_cases, links)
    return stored


def _record(
    session: Session,
    item: _Planned,
    *,
    actor: str,
    now: datetime,
    flow_run_id: str | None,
    summary: EscalateSummary,
) -> None:
    """Move the case up the ladder and record the step as an event (and, for a change of
    level, in the audit log)."""
    case, step = item.case, item.step
    if step.step is Step.REMINDER:
        case.last_reminder_at = now
        summary.reminders += 1
    elif step.step is Step.ESCALATION:
        # The host hears again in the escalation: the next reminder is a full interval away.
        case.last_reminder_at = now
        summary.escalations += 1
    else:
        summary.analyst += 1
    case.escalation_level = max(case.escalation_level, step.level)
    flag_reason = None
    if step.step is Step.ANALYST:
        flag_reason = step.reason
    elif not item.notice_ids and item.problems:
        flag_reason = f"{step.step} nobody could be told: " + "; ".join(item.problems)
    if flag_reason is not None:
        summary.needs_analyst += int(not case.needs_analyst)
        case.needs_analyst = True
        case.analyst_reason = clean_text(ANALYST_PREFIX + flag_reason, MAX_REASON)
    case.updated_at = now
    queued = len(item.notice_ids)
    session.add(
        CaseEvent(
            case_id=case.id,
            at=now,
            kind=EventKind.ESCALATION,
            actor=actor,
            reason=clean_text(f"{step.step}: {step.reason}; {queued} notices queued", MAX_REASON),
            flow_run_id=flow_run_id,
            detail={
                "step": step.step.value,
                "key": step.key,
                "round": case.notice_round,
                "level": step.level,
                "notice_ids": sorted(item.notice_ids),
                "problems": [clean_text(p, 300) for p in item.problems[:20]],
            },
        )
    )
    if step.step is not Step.REMINDER:
        audit.record(
            session,
            actor=actor,
            action=audit.AuditAction.STATE_CHANGE,
            subject=f"case {case.id}",
            detail={"action": step.step.value, "case": case.reference, "level": step.level},
            now=now,
        )


def escalate_cases(
    session: Session,
    case_ids: Sequence[int],
    *,
    directory: Directory,
    composer: NoticeComposer,
    now: datetime,
    actor: str = ACTOR,
    ladder: Ladder | None = None,
    flow_run_id: str | None = None,
) -> EscalateSummary:
    """Take the ladder step due now for each of the given cases that has one.

    Flushes; the caller's unit of work commits, so the notices, the case columns and the events
    are stored together.
    """
    summary = EscalateSummary()
    chosen = ladder or ladder_of(directory)
    candidates = list(
        session.scalars(select(Case).where(Case.id.in_(case_ids), Case.status.in_(LADDER_STATUSES)))
    )
    wanted = due_steps(session, candidates, chosen, now)
    if not wanted:
        return summary
    cases = _lock(session, sorted(wanted), now)
    # Judged again on the locked rows: another worker may have just taken a step.
    due = due_steps(session, cases, chosen, now)
    planned = _plan(session, cases, due, directory)
    stored = _render_and_store(session, planned, directory, composer, now)
    summary.cases = len(planned)
    summary.notices = len(stored)
    summary.by_kind.update(notice.kind.value for _, notice in stored)
    for item in planned:
        _record(session, item, actor=actor, now=now, flow_run_id=flow_run_id, summary=summary)
    session.flush()
    return summary
