"""The web app: pages for analysts, liaison officers, admins and auditors, and the JSON API.

``create_app()`` builds it from the settings; tests hand in their own engine, configuration
and pipeline starter. Pages are server-rendered without JavaScript; the API lives under
``/api`` with its OpenAPI schema at ``/api/openapi.json``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from urllib.parse import urlencode

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from notices.mail.addresses import InvalidAddress
from records.bundle import EvidenceMismatch
from records.signing import InvalidSigningKey, SigningKeyMissing
from registry.attention import MessageNotFound, NothingToHandle
from registry.case_actions import ReasonRequired
from registry.cases import CaseNotFound
from registry.db import engine_for
from registry.intake.reader import UnreadableFile
from registry.lifecycle import IllegalTransition
from registry.queries import Forbidden
from registry.users import InvalidUser, UserNotFound
from settings import Settings, get_settings
from web.config import WebConfig, WebState
from web.deps import CsrfRejected, SignInRequired
from web.intake_form import TooManyUrls
from web.jobs import TakedownStarter, start_takedown
from web.principals import PrincipalCache
from web.ratelimit import SignInThrottle
from web.routes.actions import router as actions_router
from web.routes.admin import router as admin_router
from web.routes.api import router as api_router
from web.routes.auth import router as auth_router
from web.routes.cases import BadFilter
from web.routes.cases import router as cases_router
from web.security import SecurityHeaders
from web.views import environment

STATIC = Path(__file__).parent / "static"

# Failures a user can act on, each with the status it is answered with.
_USER_ERRORS: dict[type[Exception], int] = {
    Forbidden: 403,
    CsrfRejected: 403,
    CaseNotFound: 404,
    UserNotFound: 404,
    SigningKeyMissing: 503,
    InvalidSigningKey: 503,
    EvidenceMismatch: 409,
    IllegalTransition: 400,
    InvalidAddress: 400,
    ReasonRequired: 400,
    NothingToHandle: 409,
    MessageNotFound: 404,
    BadFilter: 400,
    UnreadableFile: 400,
    TooManyUrls: 400,
    InvalidUser: 400,
}


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    config: WebConfig | None = None,
    starter: TakedownStarter = start_takedown,
) -> FastAPI:
    """The app, wired to ``engine`` (default: the settings' database)."""
    settings = settings or get_settings()
    config = config or WebConfig.from_settings(settings)
    app = FastAPI(
        lifespan=_thread_budget(config.request_threads),
        title="Takedown",
        summary="Notice-and-takedown cases for analysts, liaison officers and their tools.",
        version="1",
        docs_url=None,  # the interactive docs load scripts from elsewhere; the CSP forbids that
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    engine = engine or engine_for(settings.database_url)
    app.state.web = WebState(
        engine=engine,
        config=config,
        throttle=SignInThrottle(engine, config.sign_in_limits),
        start_takedown=starter,
        principals=PrincipalCache(config.principal_cache_seconds),
    )
    # Fixed paths (/cases/new) before the patterns that would swallow them (/cases/{id}).
    for router in (auth_router, actions_router, cases_router, admin_router, api_router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(SecurityHeaders)
    app.add_exception_handler(SignInRequired, _sign_in_required)
    for error in _USER_ERRORS:
        app.add_exception_handler(error, _user_error)
    return app


def _thread_budget(threads: int) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """A lifespan that caps the threads running request handlers at ``threads``.

    Handlers are synchronous (database work), so they run in anyio's thread pool, 40 threads
    by default. Forty CPU-bound threads share one interpreter lock: every request in flight
    gets slower and the slowest wait longest. A few threads serve requests in arrival order
    instead, and the rest wait their turn in the queue, which keeps the tail short.
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        yield

    return lifespan


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def _sign_in_required(request: Request, exc: Exception) -> Response:
    if _is_api(request):
        return JSONResponse(
            {"detail": str(exc)}, status_code=401, headers={"www-authenticate": "Bearer"}
        )
    target = "/sign-in"
    if request.method == "GET":
        path = request.url.path
        if path.startswith("/") and not path.startswith("//"):
            target += "?" + urlencode({"next": path})
    return RedirectResponse(target, status_code=303)


async def _user_error(request: Request, exc: Exception) -> Response:
    status = next(code for kind, code in _USER_ERRORS.items() if isinstance(exc, kind))
    message = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else "not allowed"
    if _is_api(request):
        return JSONResponse({"detail": message}, status_code=status)
    page = (
        environment()
        .get_template("error.html")
        .render(user=None, menu=[], path=request.url.path, status=status, message=message)
    )
    return Response(page, status_code=status, media_type="text/html")
