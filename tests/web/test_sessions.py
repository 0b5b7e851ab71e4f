"""Server-side sessions: a copied cookie stops working the moment its session is ended."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine, func, select

from registry.db import unit_of_work
from registry.models import WebSession
from registry.users import get_user
from registry.web_sessions import SessionLimits, live_session, start_session
from settings import Settings
from tests.web.client import anonymous, csrf_of, signed_in
from tests.web.conftest import LiveServer, serving
from tests.web.seed import World
from web.app import create_app
from web.config import WebConfig


def _replay(base_url: str, cookie: str, path: str) -> httpx.Response:
    with anonymous(base_url) as stranger:
        stranger.cookies.set("takedown_session", cookie)
        return stranger.get(path)


def _admin_posts(base_url: str, path: str, **fields: str) -> None:
    with signed_in(base_url, "adam") as admin:
        token = csrf_of(admin, "/admin/users")
        response = admin.post(path, data={"csrf_token": token, **fields})
        assert response.status_code == 303, response.text


def _sign_out(client: httpx.Client, base_url: str) -> None:
    response = client.post("/sign-out", data={"csrf_token": csrf_of(client, "/cases")})
    assert response.status_code == 303


ENDINGS: dict[str, Callable[[httpx.Client, str], None]] = {
    "sign-out": _sign_out,
    "disable": lambda _c, url: _admin_posts(url, "/admin/users/liz/disable"),
    "password change": lambda _c, url: _admin_posts(
        url, "/admin/users/liz/password", password="another long passphrase"
    ),
    "role change": lambda _c, url: _admin_posts(
        url, "/admin/users/liz/role", role="liaison", agency="gb-police"
    ),
    "sign out everywhere": lambda _c, url: _admin_posts(url, "/admin/users/liz/sign-out"),
}


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_a_copied_cookie_is_refused_once_its_session_ends(
    live_server: LiveServer, world: World, engine: Engine, ending: str
) -> None:
    bundle = f"/cases/{world.ours}/bundle"
    with signed_in(live_server.url, "liz") as liz:
        cookie = liz.cookies["takedown_session"]
        assert _replay(live_server.url, cookie, bundle).status_code == 200
        ENDINGS[ending](liz, live_server.url)
        refused = _replay(live_server.url, cookie, bundle)
        assert refused.status_code == 303
        assert refused.headers["location"].startswith("/sign-in")
        assert _replay(live_server.url, cookie, "/cases").status_code == 303
        api = _replay(live_server.url, cookie, f"/api/cases/{world.ours}/bundle")
        assert api.status_code == 401
    with unit_of_work(engine) as session:
        liz_id = get_user(session, "liz").id
        left = session.scalar(select(func.count()).where(WebSession.user_id == liz_id))
    assert left == 0


def test_the_cookie_holds_no_user_and_the_table_no_session_id(
    live_server: LiveServer, world: World, engine: Engine
) -> None:
    with signed_in(live_server.url, "ana") as ana:
        cookie = ana.cookies["takedown_session"]
    with unit_of_work(engine) as session:
        digests = list(session.scalars(select(WebSession.id_sha256)))
    assert len(cookie) >= 43 and cookie not in digests and len(digests) == 1


def test_processes_share_sessions_through_the_database(
    engine: Engine, world: World, web_config: WebConfig
) -> None:
    first = create_app(Settings(), engine=engine, config=web_config)
    second = create_app(Settings(), engine=engine, config=web_config)
    with serving(first) as one, serving(second) as two:
        with signed_in(one.url, "ana") as ana:
            cookie = ana.cookies["takedown_session"]
            assert _replay(two.url, cookie, "/dashboard").status_code == 200
            _sign_out(ana, one.url)
        assert _replay(two.url, cookie, "/dashboard").status_code == 303


def test_sessions_end_after_the_idle_and_absolute_limits(engine: Engine, world: World) -> None:
    limits = SessionLimits(idle=timedelta(minutes=30), absolute=timedelta(hours=8))
    t0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with unit_of_work(engine) as session:
        ana = get_user(session, "ana").id
        busy, _ = start_session(session, ana, now=t0)
        idle, _ = start_session(session, ana, now=t0)
    # The busy session is used every 20 minutes: it outlives the idle limit, not the absolute.
    at = t0
    while at < t0 + timedelta(hours=8) - timedelta(minutes=20):
        at += timedelta(minutes=20)
        with unit_of_work(engine) as session:
            assert live_session(session, busy, limits, now=at) is not None, at
    with unit_of_work(engine) as session:
        assert live_session(session, busy, limits, now=t0 + timedelta(hours=8)) is None
        assert live_session(session, idle, limits, now=t0 + timedelta(minutes=31)) is None
        assert session.scalar(select(func.count()).select_from(WebSession)) == 0


def test_idle_and_absolute_limits_come_from_the_settings() -> None:
    config = WebConfig.from_settings(Settings(session_idle_minutes=15, session_max_hours=2))
    assert config.sessions == SessionLimits(idle=timedelta(minutes=15), absolute=timedelta(hours=2))


def test_the_sign_in_form_needs_its_csrf_cookie(live_server: LiveServer, world: World) -> None:
    with anonymous(live_server.url) as client:
        token = csrf_of(client)
        client.cookies.clear()
        response = client.post(
            "/sign-in",
            data={"name": "ana", "password": "correct horse battery staple", "csrf_token": token},
        )
        assert response.status_code == 403


def test_signing_in_again_ends_the_session_the_browser_had(
    live_server: LiveServer, world: World
) -> None:
    with signed_in(live_server.url, "ana") as ana:
        before = ana.cookies["takedown_session"]
        token = csrf_of(ana)
        again = ana.post(
            "/sign-in",
            data={"name": "ana", "password": "correct horse battery staple", "csrf_token": token},
        )
        assert again.status_code == 303 and ana.cookies["takedown_session"] != before
        assert ana.get("/dashboard").status_code == 200
    assert _replay(live_server.url, before, "/dashboard").status_code == 303
