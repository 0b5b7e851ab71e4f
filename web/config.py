"""What the web app is configured with, read once from the settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine

from registry.web_sessions import SessionLimits
from settings import Settings
from web.jobs import TakedownStarter
from web.principals import PrincipalCache
from web.ratelimit import SignInLimits, SignInThrottle, TrustedProxies


@dataclass(frozen=True, slots=True)
class WebConfig:
    cookie_secure: bool
    signing_key: str | None
    categories: tuple[str, ...]
    default_source: str
    sessions: SessionLimits = field(default_factory=SessionLimits)
    """Idle and absolute lifetimes of a browser session (see ``registry.web_sessions``)."""
    max_upload_bytes: int = 20 * 2**20
    max_pasted_urls: int = 2000
    page_size: int = 50
    request_threads: int = 4
    """Threads running request handlers in each process (see ``web.app``)."""
    principal_cache_seconds: float = 5.0
    """How long an API token's user is remembered (see ``web.principals``)."""
    sign_in_limits: SignInLimits = field(default_factory=SignInLimits)
    trusted_proxies: TrustedProxies = field(default_factory=TrustedProxies)
    """Proxies whose X-Forwarded-For names the client (see ``web.ratelimit``)."""
    liaison_sees_all_notices: bool = False
    """Liaison officers see every notice of their cases, not only their agency's."""
    bundle_cache_dir: Path | None = None
    """Where finished bundles are kept (see ``records.cache``); None: built on every download."""
    bundle_cache_mb: int = 512

    @classmethod
    def from_settings(cls, settings: Settings) -> WebConfig:
        return cls(
            cookie_secure=settings.cookie_secure,
            signing_key=settings.signing_key.get_secret_value() if settings.signing_key else None,
            categories=tuple(settings.categories),
            default_source=settings.default_source,
            sessions=SessionLimits(
                idle=timedelta(minutes=settings.session_idle_minutes),
                absolute=timedelta(hours=settings.session_max_hours),
            ),
            request_threads=settings.web_request_threads,
            liaison_sees_all_notices=settings.liaison_sees_all_notices,
            trusted_proxies=TrustedProxies.parse(settings.trusted_proxies),
            bundle_cache_dir=settings.bundle_cache_dir,
            bundle_cache_mb=settings.bundle_cache_mb,
        )


@dataclass(slots=True)
class WebState:
    """Everything a request handler needs, kept on ``app.state.web``."""

    engine: Engine
    config: WebConfig
    throttle: SignInThrottle
    start_takedown: TakedownStarter
    principals: PrincipalCache
