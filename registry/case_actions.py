"""What an analyst changes on a case: withdraw it, or override whom its notices go to.

Each change is a case event and an audit entry, written in the caller's unit of work; the case
row is locked first so a flow moving the same case waits rather than interleaves.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notices.mail.addresses import validate_address
from registry.audit import AuditAction, record
from registry.cases import CaseNotFound, move_case
from registry.models import Case, CaseEvent, Contact, Organisation
from registry.status import CaseStatus, EventKind, OrganisationRole
from registry.users import Principal

MAX_REASON = 2000
MAX_ORGANISATION_NAME = 255


class OverrideRole(StrEnum):
    """Whose contact an analyst may override on a case."""

    HOST = "host"
    REGISTRAR = "registrar"
    CDN = "cdn"


class ReasonRequired(ValueError):
    """A change to a case must say why."""


def locked_case(session: Session, case_id: int) -> Case:
    """The case, locked for this transaction; raises ``CaseNotFound``."""
    case = session.scalar(select(Case).where(Case.id == case_id).with_for_update())
    if case is None:
        raise CaseNotFound(f"there is no case {case_id}")
    return case


def required_reason(text: str) -> str:
    """``text`` stripped and cut to length; raises :class:`ReasonRequired` when empty."""
    reason = text.strip()
    if not reason:
        raise ReasonRequired("say why: the reason is kept as evidence")
    return reason[:MAX_REASON]


def withdraw_case(
    session: Session, user: Principal, case_id: int, reason: str, *, now: datetime
) -> CaseEvent:
    """Move the case to ``withdrawn``; raises ``IllegalTransition`` when it is past that."""
    case = locked_case(session, case_id)
    reason = required_reason(reason)
    previous = case.status
    event = move_case(session, case, CaseStatus.WITHDRAWN, actor=user.name, reason=reason, now=now)
    record(
        session,
        actor=user.name,
        action=AuditAction.STATE_CHANGE,
        subject=case.reference,
        detail={"from": previous.value, "to": CaseStatus.WITHDRAWN.value, "reason": reason},
        now=now,
    )
    return event


def override_contact(
    session: Session,
    user: Principal,
    case_id: int,
    role: OverrideRole,
    email: str,
    reason: str,
    *,
    organisation_name: str = "",
    now: datetime,
) -> Contact:
    """Put ``email`` first among the contacts of the case's host, registrar or CDN.

    The contact belongs to the organisation, so every case of that organisation uses it from
    now on. A case with no such organisation yet (an untraced case) gets one, named by the
    analyst or after the address's domain. Raises ``InvalidAddress`` or :class:`ReasonRequired`.
    """
    case = locked_case(session, case_id)
    address = validate_address(email)
    reason = required_reason(reason)
    column = f"{role.value}_organisation_id"
    organisation_id: int | None = getattr(case, column)
    if organisation_id is None:
        name = organisation_name.strip()[:MAX_ORGANISATION_NAME] or address.rpartition("@")[2]
        organisation = Organisation(
            role=OrganisationRole(role.value),
            name=name,
            country=case.hosting_country if role is OverrideRole.HOST else None,
        )
        session.add(organisation)
        session.flush()
        organisation_id = organisation.id
        setattr(case, column, organisation_id)
    first = session.scalar(
        select(func.min(Contact.rank)).where(Contact.organisation_id == organisation_id)
    )
    contact = Contact(
        organisation_id=organisation_id,
        email=address,
        rank=(first - 1) if first is not None else 0,
        source="override",
        confidence="high",
        note=reason,
        seen_at=now,
    )
    session.add(contact)
    detail: dict[str, object] = {
        "role": role.value,
        "email": address,
        "organisation_id": organisation_id,
    }
    session.add(
        CaseEvent(
            case_id=case.id,
            at=now,
            kind=EventKind.OVERRIDE,
            actor=user.name,
            reason=reason,
            detail=detail,
        )
    )
    session.flush()
    record(
        session,
        actor=user.name,
        action=AuditAction.OVERRIDE,
        subject=case.reference,
        detail={**detail, "reason": reason},
        now=now,
    )
    return contact
