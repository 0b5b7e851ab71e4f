"""What analysts do through forms: open cases, withdraw one, override a contact, and mark what
needed them handled."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, BinaryIO

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from registry.attention import handle_case, handle_message
from registry.base import utcnow
from registry.case_actions import OverrideRole, ReasonRequired, override_contact, withdraw_case
from registry.db import unit_of_work
from registry.intake.reader import UnreadableFile
from registry.intake.service import IntakeResult
from registry.users import Principal
from web.config import WebState
from web.deps import Analyst, CaseId, CheckedForm, StateDep
from web.intake_form import open_cases, pasted_reports
from web.views import render

router = APIRouter(include_in_schema=False)


@router.get("/cases/new", response_class=HTMLResponse)
def new_case_page(request: Request, user: Analyst, state: StateDep) -> Response:
    return render(
        request, "new_case.html", user, categories=state.config.categories, result=None, error=None
    )


@router.post("/cases/new", response_class=HTMLResponse)
async def new_case(request: Request, user: Analyst, state: StateDep, form: CheckedForm) -> Response:
    config = state.config
    upload = form.get("file")
    now = utcnow()
    try:
        data: bytes | BinaryIO
        if isinstance(upload, UploadFile) and upload.filename:
            # The upload is already spooled to a temporary file: intake streams it from there,
            # and stops reading once it passes the size limit.
            data = upload.file
            filename = upload.filename[:255]
        else:
            category = str(form.get("category") or "")
            if category not in config.categories:
                raise UnreadableFile("choose a category for the pasted URLs")
            data = pasted_reports(
                str(form.get("urls") or ""),
                category=category,
                source=config.default_source,
                analyst=user.name,
                now=now,
                limit=config.max_pasted_urls,
            )
            filename = "pasted.jsonl"
        result = await _ingest(state, user, data, filename, now)
    except ValueError as exc:
        return render(
            request,
            "new_case.html",
            user,
            status_code=400,
            categories=config.categories,
            result=None,
            error=str(exc),
        )
    state.start_takedown(sorted(set(result.case_ids)))
    return render(
        request,
        "new_case.html",
        user,
        categories=config.categories,
        result=result,
        case_ids=sorted(set(result.case_ids)),
        error=None,
    )


async def _ingest(
    state: WebState, user: Principal, data: bytes | BinaryIO, filename: str, now: datetime
) -> IntakeResult:
    """Intake runs in a worker thread: database work must not block the event loop."""

    def work() -> IntakeResult:
        with unit_of_work(state.engine) as session:
            return open_cases(
                session,
                user,
                data,
                filename,
                categories=state.config.categories,
                default_source=state.config.default_source,
                now=now,
                max_bytes=state.config.max_upload_bytes,
            )

    return await run_in_threadpool(work)


@router.post("/cases/{case_id}/withdraw")
def withdraw(
    request: Request, case_id: CaseId, user: Analyst, state: StateDep, form: CheckedForm
) -> Response:
    with unit_of_work(state.engine) as session:
        withdraw_case(session, user, case_id, str(form.get("reason") or ""), now=utcnow())
    return RedirectResponse(f"/cases/{case_id}?done=withdrawn", status_code=303)


@router.post("/cases/{case_id}/override")
def override(
    request: Request, case_id: CaseId, user: Analyst, state: StateDep, form: CheckedForm
) -> Response:
    try:
        role = OverrideRole(str(form.get("role") or ""))
    except ValueError:
        raise ReasonRequired("choose whose contact to override: host, registrar or CDN") from None
    with unit_of_work(state.engine) as session:
        override_contact(
            session,
            user,
            case_id,
            role,
            str(form.get("email") or ""),
            str(form.get("reason") or ""),
            organisation_name=str(form.get("organisation") or ""),
            now=utcnow(),
        )
    return RedirectResponse(f"/cases/{case_id}?done=override", status_code=303)


@router.post("/cases/{case_id}/handled")
def handled_case(
    request: Request, case_id: CaseId, user: Analyst, state: StateDep, form: CheckedForm
) -> Response:
    with unit_of_work(state.engine) as session:
        handle_case(session, user.name, case_id, str(form.get("note") or ""), now=utcnow())
    return RedirectResponse(f"/cases/{case_id}?done=handled", status_code=303)


@router.post("/messages/{message_id}/handled")
def handled_message(
    request: Request,
    message_id: Annotated[int, Path(ge=1, le=2**62)],
    user: Analyst,
    state: StateDep,
    form: CheckedForm,
) -> Response:
    with unit_of_work(state.engine) as session:
        handle_message(session, user.name, message_id, str(form.get("note") or ""), now=utcnow())
    return RedirectResponse("/dashboard?done=handled", status_code=303)
