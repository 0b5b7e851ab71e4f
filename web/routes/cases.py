"""Case pages: the list, one case, and its downloads. Analysts see all, liaison officers theirs."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from records.signing import configured_key, public_key_pem
from registry.db import read_session
from registry.lifecycle import allowed_next
from registry.queries import Age, CaseFilter, case_detail, list_cases
from registry.status import CaseStatus
from registry.users import Role
from web.deps import CaseId, CaseReader, StateDep
from web.downloads import bundle_response, referrals_response, timeline_response
from web.security import PRINTABLE
from web.views import render

router = APIRouter(include_in_schema=False)
PARTNER_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
COUNTRY = re.compile(r"^[A-Za-z]{2}$")


class BadFilter(ValueError):
    """A filter value that cannot be used."""


def case_filter(status: str, country: str, host: str, age: str) -> CaseFilter:
    """Filters from the list's query string; unknown values are refused, blanks mean any."""
    try:
        return CaseFilter(
            status=CaseStatus(status) if status else None,
            country=country.upper() if country else None,
            host=host.strip().lower() or None,
            age=Age(age),
        )
    except ValueError:
        raise BadFilter("a filter value is not one of those offered") from None


@router.get("/cases", response_class=HTMLResponse)
def cases_page(
    request: Request,
    user: CaseReader,
    state: StateDep,
    status: Annotated[str, Query(max_length=20)] = "",
    country: Annotated[str, Query(max_length=2, pattern=PRINTABLE)] = "",
    host: Annotated[str, Query(max_length=255, pattern=PRINTABLE)] = "",
    age: Annotated[str, Query(max_length=12)] = "",
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    filters = case_filter(status, country, host, age)
    with read_session(state.engine) as session:
        page = list_cases(session, user, filters, before=before, limit=state.config.page_size)
    return render(
        request,
        "cases.html",
        user,
        page=page,
        filters=filters,
        statuses=list(CaseStatus),
        ages=[(a.value, label) for a, label in AGE_LABELS.items()],
    )


AGE_LABELS = {
    Age.ANY: "any time",
    Age.DAY: "last 24 hours",
    Age.WEEK: "last 7 days",
    Age.MONTH: "last 30 days",
    Age.OVER_WEEK: "more than 7 days ago",
    Age.OVER_MONTH: "more than 30 days ago",
}


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: CaseId, user: CaseReader, state: StateDep) -> Response:
    with read_session(state.engine) as session:
        detail = case_detail(
            session, user, case_id, all_notices=state.config.liaison_sees_all_notices
        )
    can_withdraw = CaseStatus.WITHDRAWN in allowed_next(detail.case.status)
    return render(
        request,
        "case.html",
        user,
        d=detail,
        is_analyst=user.role is Role.ANALYST,
        can_withdraw=can_withdraw,
        message=request.query_params.get("done", "")[:80],
    )


@router.get("/cases/{case_id}/bundle")
def case_bundle(case_id: CaseId, user: CaseReader, state: StateDep) -> Response:
    return bundle_response(state, user, case_id, "page")


@router.get("/cases/{case_id}/timeline.csv")
def case_timeline(case_id: CaseId, user: CaseReader, state: StateDep) -> Response:
    return timeline_response(state, user, case_id)


@router.get("/referrals", response_class=HTMLResponse)
def referrals_page(request: Request, user: CaseReader) -> Response:
    today = datetime.now(UTC).date()
    return render(
        request,
        "referrals.html",
        user,
        since=(today - timedelta(days=30)).isoformat(),
        until=today.isoformat(),
    )


@router.get("/referrals.csv")
def referrals_csv(
    user: CaseReader,
    state: StateDep,
    since: date,
    until: date,
    partner: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    code = partner or (user.agency or "")
    if not PARTNER_CODE.match(code):
        raise BadFilter("name a partner code")
    start = datetime(since.year, since.month, since.day, tzinfo=UTC)
    try:
        end = datetime(until.year, until.month, until.day, tzinfo=UTC) + timedelta(days=1)
    except OverflowError:
        raise BadFilter("the period ends too far in the future") from None
    if end <= start:
        raise BadFilter("the period ends before it starts")
    return referrals_response(state, user, code, start, end)


@router.get("/signing-key.pem")
def signing_key(state: StateDep) -> Response:
    """The public key that checks evidence bundles: public by nature, so no sign-in needed."""
    key = configured_key(state.config.signing_key)
    return Response(public_key_pem(key), media_type="application/x-pem-file")
