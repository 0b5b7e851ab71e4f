"""Which cases an agency may see (those referred to it), and which of their notices.

A case is referred to an agency when a notice addressed to that partner (``Notice.partner_code``)
is linked to the case through ``notice_cases``. This is the one definition every page, API
route and download uses, so a liaison officer's view cannot drift from one screen to another.
Of a referred case's notices, an agency sees those addressed to it (:func:`addressed_to`), not
the correspondence with other agencies, unless ``TAKEDOWN_LIAISON_SEES_ALL_NOTICES`` is set.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from registry.models import Case, Notice, notice_cases


def referred_to(agency: str) -> ColumnElement[bool]:
    """A condition on ``Case`` true when the case is referred to ``agency``.

    Written as ``id IN (cases of the agency's notices)`` rather than a correlated EXISTS, so
    the database starts from the ``notices.partner_code`` index and touches only referred
    cases instead of testing every case.
    """
    return Case.id.in_(
        select(notice_cases.c.case_id)
        .join(Notice, Notice.id == notice_cases.c.notice_id)
        .where(Notice.partner_code == agency)
    )


def addressed_to(agency: str) -> ColumnElement[bool]:
    """A condition on ``Notice`` true for the notices addressed to ``agency``."""
    return Notice.partner_code == agency


def is_referred(session: Session, case_id: int, agency: str) -> bool:
    """True when case ``case_id`` exists and is referred to ``agency``."""
    found = session.scalar(select(Case.id).where(Case.id == case_id, referred_to(agency)))
    return found is not None
