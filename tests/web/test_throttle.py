"""Sign-in throttling that fits the deployment: per account and per client, the client found
behind trusted proxies, failures shared by every web process, and a bounded table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import Engine, func, select

from registry.db import unit_of_work
from registry.models import SignInFailure
from registry.sign_in_failures import SignInLimits, is_blocked, record_failure
from settings import Settings
from tests.web.client import anonymous, csrf_of
from tests.web.conftest import RecordingStarter, serving
from tests.web.seed import PASSWORD, World
from web.app import create_app
from web.config import WebConfig
from web.ratelimit import TrustedProxies

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_forwarded_for_is_believed_only_from_trusted_proxies() -> None:
    proxies = TrustedProxies.parse(["10.0.0.0/8", "::1/128"])
    assert proxies.client("10.0.0.5", "203.0.113.7") == "203.0.113.7"
    # A client cannot pass itself off as another by writing the header: read from the right.
    assert proxies.client("10.0.0.5", "198.51.100.1, 203.0.113.7") == "203.0.113.7"
    assert proxies.client("10.0.0.5", "203.0.113.7, 10.0.0.9") == "203.0.113.7"
    assert proxies.client("192.0.2.1", "203.0.113.7") == "192.0.2.1"  # not a proxy of ours
    assert proxies.client("10.0.0.5", None) == "10.0.0.5"
    assert proxies.client("10.0.0.5", "junk, 10.0.0.9") == "10.0.0.9"
    assert TrustedProxies().client("10.0.0.5", "203.0.113.7") == "10.0.0.5"


def test_the_setting_is_a_list_of_networks() -> None:
    config = WebConfig.from_settings(Settings(trusted_proxies="10.0.0.0/8, 192.0.2.1"))
    assert config.trusted_proxies.trusts("10.1.2.3") and config.trusted_proxies.trusts("192.0.2.1")


def _attempt(client: httpx.Client, name: str, password: str, address: str | None) -> int:
    token = csrf_of(client)
    headers = {"x-forwarded-for": address} if address else {}
    response = client.post(
        "/sign-in",
        data={"name": name, "password": password, "csrf_token": token},
        headers=headers,
    )
    return response.status_code


def _config(web_config: WebConfig, **changes: object) -> WebConfig:
    fields = {
        "cookie_secure": False,
        "signing_key": web_config.signing_key,
        "categories": web_config.categories,
        "default_source": "local",
        **changes,
    }
    return WebConfig(**fields)  # type: ignore[arg-type]


def test_behind_a_proxy_one_client_is_blocked_not_everyone(
    engine: Engine, world: World, web_config: WebConfig
) -> None:
    config = _config(
        web_config,
        trusted_proxies=TrustedProxies.parse(["127.0.0.1/32"]),
        sign_in_limits=SignInLimits(per_user=100, per_address=4),
    )
    app = create_app(Settings(), engine=engine, config=config, starter=RecordingStarter())
    with serving(app) as live, anonymous(live.url) as client:
        codes = [_attempt(client, f"nobody{n}", "wrong password!", "203.0.113.7") for n in range(5)]
        assert codes == [401, 401, 401, 401, 429]
        # Another client behind the same proxy still signs in.
        assert _attempt(client, "ana", PASSWORD, "198.51.100.20") == 303


def test_failures_are_shared_by_every_process(
    engine: Engine, world: World, web_config: WebConfig
) -> None:
    config = _config(web_config, sign_in_limits=SignInLimits(per_user=4, per_address=100))
    first = create_app(Settings(), engine=engine, config=config, starter=RecordingStarter())
    second = create_app(Settings(), engine=engine, config=config, starter=RecordingStarter())
    with (
        serving(first) as one,
        serving(second) as two,
        anonymous(one.url) as a,
        anonymous(two.url) as b,
    ):
        codes = [_attempt(c, "liz", "wrong password!", None) for c in (a, b, a, b)]
        assert codes == [401] * 4
        assert _attempt(a, "liz", PASSWORD, None) == 429
        assert _attempt(b, "liz", PASSWORD, None) == 429


def test_the_table_is_bounded_and_forgets_the_oldest_first(engine: Engine) -> None:
    limits = SignInLimits(per_user=3, per_address=1000, max_rows=10)
    with unit_of_work(engine) as session:
        for n in range(20):
            record_failure(session, f"flood{n}", "192.0.2.1", limits, now=T0)
        for _ in range(3):
            record_failure(session, "victim", "192.0.2.2", limits, now=T0 + timedelta(seconds=1))
    with unit_of_work(engine) as session:
        rows = session.scalar(select(func.count()).select_from(SignInFailure))
        assert rows is not None and rows <= 10
        assert is_blocked(session, "victim", "192.0.2.9", limits, now=T0 + timedelta(seconds=2))
        assert not is_blocked(session, "flood0", "192.0.2.9", limits, now=T0 + timedelta(seconds=2))
        # Past the window, failures no longer count.
        later = T0 + limits.window + timedelta(seconds=2)
        assert not is_blocked(session, "victim", "192.0.2.9", limits, now=later)
