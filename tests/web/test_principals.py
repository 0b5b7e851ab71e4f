"""Who a credential belongs to is remembered for a few seconds, and no longer."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine

from registry.db import unit_of_work
from registry.users import Principal, Role, revoke_token
from tests.web.conftest import LiveServer
from tests.web.seed import World
from web import principals
from web.principals import PrincipalCache

ANA = Principal(1, "ana", Role.ANALYST, None)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_principal_is_kept_until_it_expires() -> None:
    clock = Clock()
    cache = PrincipalCache(5.0, clock)
    assert cache.get(("token", "x")) is None
    cache.put(("token", "x"), ANA)
    clock.now += 4.9
    assert cache.get(("token", "x")) == ANA
    clock.now += 0.2
    assert cache.get(("token", "x")) is None


def test_nothing_is_kept_when_the_time_is_zero() -> None:
    cache = PrincipalCache(0.0)
    cache.put(("user", 1), ANA)
    assert cache.get(("user", 1)) is None


def test_the_cache_stays_bounded() -> None:
    clock = Clock()
    cache = PrincipalCache(5.0, clock)
    for n in range(principals.MAX_ENTRIES):
        cache.put(("token", n), ANA)
    clock.now += 10  # all of them expired
    cache.put(("token", "new"), ANA)
    assert cache.get(("token", "new")) == ANA
    assert len(cache._entries) == 1


def test_a_revoked_token_is_refused_once_its_entry_expires(
    engine: Engine, world: World, app: FastAPI, live_server: LiveServer
) -> None:
    token = world.tokens["liz"]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=live_server.url, timeout=10) as client:
        assert client.get("/api/me", headers=headers).status_code == 200
        with unit_of_work(engine) as session:
            assert revoke_token(session, token)
        # Still the remembered principal for a few seconds; then looked up again, and refused.
        assert client.get("/api/me", headers=headers).status_code == 200
        app.state.web.principals._entries.clear()
        answer = client.get("/api/me", headers=headers)
        assert answer.status_code == 401
        assert client.get("/api/cases", headers=headers).status_code == 401
