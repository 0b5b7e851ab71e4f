"""Planning a batch's notices: why each case is due (first round, moved, reappeared, police
cleared), which round it belongs to, what earlier notices already cover, and the rendered rows
for the outbox, grouped across cases per recipient and kind.

Pure apart from :func:`existing_notices`, which reads what the cases already have.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from notices.directory import Directory
from notices.facts import CaseFacts, clean_text
from notices.kinds import Circumstance, NoticeKind
from notices.mail.message import NoticeComposer
from notices.routing import PlannedNotice, group_notices, plan_notices
from notices.schedule import sending_decision
from registry.models import Case, Notice, notice_cases
from registry.notifying.facts import FactsProblem
from registry.status import CaseStatus, NoticeStatus

_NOT_COUNTED = (NoticeStatus.CANCELLED,)


@dataclass(frozen=True, slots=True)
class Covered:
    kind: str
    recipient: str
    round: int
    held: bool


def existing_notices(session: Session, case_ids: Sequence[int]) -> dict[int, set[Covered]]:
    """The notices each case already has (cancelled ones do not count)."""
    found: dict[int, set[Covered]] = {case_id: set() for case_id in case_ids}
    rows = session.execute(
        select(
            notice_cases.c.case_id,
            Notice.kind,
            Notice.recipient_email,
            Notice.round,
            Notice.status,
        )
        .join(Notice, Notice.id == notice_cases.c.notice_id)
        .where(notice_cases.c.case_id.in_(case_ids), Notice.status.not_in(_NOT_COUNTED))
    )
    for case_id, kind, recipient, round_, status in rows:
        found[case_id].add(Covered(kind, recipient.lower(), round_, status is NoticeStatus.HELD))
    return found


def _circumstance(case: Case, existing: set[Covered]) -> tuple[Circumstance, int]:
    """Why notices are due now, and the round they belong to."""
    if case.status is CaseStatus.TRACE_FAILED:
        return Circumstance.UNTRACEABLE, case.notice_round
    # The registrar's notice for an untraceable domain is no host round: once the name
    # resolves, the host is told as for the first time.
    existing = {c for c in existing if c.kind != NoticeKind.REGISTRAR_UNTRACEABLE.value}
    if case.status is CaseStatus.HELD:
        return Circumstance.POLICE_CLEARED, case.notice_round
    if case.status is CaseStatus.REAPPEARED:
        return Circumstance.REAPPEARED, case.notice_round
    if not existing:
        return Circumstance.FIRST_ROUND, case.notice_round
    # Traced again after notices went out: the hosting moved; a new round unless one began.
    if any(c.round == case.notice_round for c in existing):
        return Circumstance.MOVED, case.notice_round + 1
    return Circumstance.MOVED, case.notice_round


def _is_covered(notice: PlannedNotice, round_: int, existing: set[Covered]) -> bool:
    wanted = Covered(notice.kind.value, notice.recipient_address.lower(), round_, notice.hold)
    if wanted in existing:
        return True
    # A held notice is replaced by the cleared one, never the other way round.
    return notice.hold and Covered(wanted.kind, wanted.recipient, round_, False) in existing


def dedupe_key(notice: PlannedNotice, round_: int) -> str:
    """What makes a notice unique: its round, kind, recipient, hold, moment and cases."""
    parts = [
        str(round_),
        notice.kind.value,
        notice.recipient_address.lower(),
        "held" if notice.hold else "due",
        notice.circumstance.value,
        *(str(case_id) for case_id in sorted(notice.case_ids)),
    ]
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return f"{notice.kind.value}:{digest}"


@dataclass(slots=True)
class CasePlan:
    case: Case
    circumstance: Circumstance
    round: int
    notices: list[PlannedNotice] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    has_hold: bool = False
    addressed: bool = False


def plan_cases(
    cases: Sequence[Case],
    facts: dict[int, CaseFacts | FactsProblem],
    existing: dict[int, set[Covered]],
    directory: Directory,
) -> list[CasePlan]:
    plans = []
    for case in cases:
        circumstance, round_ = _circumstance(case, existing[case.id])
        plan = CasePlan(case, circumstance, round_)
        plans.append(plan)
        found = facts[case.id]
        if isinstance(found, FactsProblem):
            plan.problems.append(found.reason)
            continue
        routed = plan_notices(found, directory, circumstance)
        plan.problems.extend(routed.gaps)
        if not routed.notices and not routed.gaps:
            plan.problems.append("no notice is due: " + ("; ".join(routed.suppressed) or "none"))
        for notice in routed.notices:
            plan.has_hold = plan.has_hold or notice.hold
            plan.addressed = True
            if not _is_covered(notice, round_, existing[case.id]):
                plan.notices.append(notice)
    return plans


def _partner_codes(directory: Directory) -> dict[tuple[str, str], str]:
    return {(p.kind, p.email.lower()): p.code for p in directory.partners}


def render_rows(
    plans: Sequence[CasePlan],
    directory: Directory,
    composer: NoticeComposer,
    now: datetime,
) -> list[tuple[dict[str, Any], PlannedNotice]]:
    by_round: dict[int, list[PlannedNotice]] = {}
    for plan in plans:
        by_round.setdefault(plan.round, []).extend(plan.notices)
    return compose_rows(
        by_round,
        {plan.case.id: plan.problems for plan in plans},
        directory,
        composer,
        now,
        key_for=lambda notice, round_: dedupe_key(notice, round_),
        honour_hold=True,
    )


def compose_rows(
    by_round: dict[int, list[PlannedNotice]],
    problems: dict[int, list[str]],
    directory: Directory,
    composer: NoticeComposer,
    now: datetime,
    *,
    key_for: Callable[[PlannedNotice, int], str],
    honour_hold: bool,
) -> list[tuple[dict[str, Any], PlannedNotice]]:
    """Group planned notices per recipient, render each once, and give its outbox row.

    A notice that cannot be rendered (an unusable address, header or template) becomes a
    problem of each of its cases, for an analyst. With ``honour_hold`` a notice planned to wait
    for police clearance is stored ``held``; escalation steps follow a cleared round, so they
    do not hold.
    """
    partners = _partner_codes(directory)
    send_after = sending_decision(directory.sending, now).next_allowed
    rows = []
    for round_, planned in sorted(by_round.items()):
        for notice in group_notices(planned):
            key = key_for(notice, round_)
            try:
                rendered = composer.compose(notice, key.rpartition(":")[2][:24], now)
            except ValueError as exc:  # unusable address, header, template: tell an analyst
                why = f"{notice.kind} to {clean_text(notice.recipient_address, 80)!r}: {exc}"
                for case_id in notice.case_ids:
                    problems[case_id].append(clean_text(why, 300))
                continue
            held = honour_hold and notice.hold
            xarf = [json.loads(report.data) for report in rendered.xarf]
            row = {
                "kind": notice.kind.value,
                "status": NoticeStatus.HELD if held else NoticeStatus.PENDING,
                "recipient_email": rendered.recipient,
                "recipient_name": notice.recipient_name[:255] if notice.recipient_name else None,
                "recipient_role": notice.role.value,
                "partner_code": partners.get((notice.role.value, rendered.recipient.lower())),
                "language": rendered.language,
                "round": round_,
                "dedupe_key": key,
                "reason": "; ".join(notice.reasons)[:4000],
                "subject": rendered.subject,
                "message_id": rendered.message_id,
                "rendered": rendered.raw.decode("utf-8"),
                "rendered_sha256": rendered.sha256,
                "xarf_json": json.dumps(xarf, separators=(",", ":")) if xarf else None,
                "created_at": now,
                "send_after": None if held else send_after,
                "claimed_by": None,
                "claimed_at": None,
                "attempts": 0,
                "sent_at": None,
                "last_error": None,
            }
            rows.append((row, notice))
    return rows
