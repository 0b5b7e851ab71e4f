"""Settings of the engine: environment variables with the prefix ``TAKEDOWN_``, or a ``.env`` file.

The names are an external contract (see the design): deployments and the sandbox write them.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_CATEGORIES = ("A", "B", "C", "baseline")
"""The UK grading hotlines use (A, B, C) and INTERPOL's baseline standard."""

CommaList = Annotated[list[str], NoDecode]
CommaMap = Annotated[dict[str, str], NoDecode]


def _split_commas(value: Any) -> Any:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """Everything the engine reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix="TAKEDOWN_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(
        default="sqlite:///takedown.db",
        description="SQLAlchemy URL; a SQLite file in the working directory by default.",
    )
    dns_nameservers: CommaList = Field(default_factory=list, description="host[:port], ...")
    whois_servers: CommaMap = Field(
        default_factory=dict,
        description="Overrides: 'bz=host:port' (a TLD's registry), 'ip=host:port' (first IP "
        "query), 'whois.example.net=host:port' (a named server that referrals may name).",
    )
    rdap_bootstrap_dir: Path | None = None
    smtp_url: SecretStr | None = None
    outbox_dir: Path = Path("outbox")
    probe_allowed_networks: CommaList = Field(default_factory=list)
    directory: Path | None = None
    inbox_url: SecretStr | None = None
    """Where replies and bounces arrive: ``maildir:///path`` or ``imaps://user:pass@host/INBOX``."""
    inbox_ca_file: Path | None = None
    """CA certificates the IMAP server's certificate is checked against (default: the system's)."""
    signing_key: SecretStr | None = None
    bundle_cache_dir: Path = Path("bundle-cache")
    """Where finished evidence bundles are kept, one file per version of a case's records."""
    bundle_cache_mb: int = Field(default=512, ge=0)
    """How much the bundle cache may hold, in MiB; the least recently used go first; 0: off."""
    audit_key: SecretStr | None = None
    """HMAC key of the audit chain (base64 of 32+ bytes), kept outside the database."""
    audit_checkpoint_file: Path | None = None
    """Where signed checkpoints of the audit chain's head are appended (outside the database)."""
    categories: CommaList = Field(default_factory=lambda: list(DEFAULT_CATEGORIES))
    default_source: str = Field(
        default="local", description="Source code given to reports that name none."
    )

    # Tracking until removal is verified (hotlines check a few times, minutes apart).
    removal_confirmations: int = Field(default=3, ge=1, le=20)
    """Consecutive ``removed`` probe outcomes needed before removal counts as verified."""
    removal_spacing_seconds: float = Field(default=300.0, ge=0)
    """Least time between two of those outcomes."""
    recheck_interval_seconds: float = Field(default=900.0, gt=0)
    """How often a case whose content is still up is probed again."""
    probe_timeout_seconds: float = Field(default=15.0, gt=0)
    probe_max_bytes: int = Field(default=50 * 2**20, gt=0)
    probe_user_agent: str = "TakedownProbe/0.1 (hotline removal verification)"

    # Web app.
    session_idle_minutes: float = Field(default=60.0, gt=0, le=7 * 24 * 60)
    """A browser session ends after this long without a request."""
    session_max_hours: float = Field(default=8.0, gt=0, le=30 * 24)
    """A browser session ends this long after sign-in, however busy."""
    cookie_secure: bool = True
    trusted_proxies: CommaList = Field(default_factory=list)
    """CIDRs of the proxies in front of the web app, whose X-Forwarded-For is believed."""
    liaison_sees_all_notices: bool = False
    """Show liaison officers every notice of a case referred to them, not only those addressed
    to their agency."""
    """Send session cookies only over HTTPS; turn off only for local testing."""
    web_request_threads: int = Field(default=4, ge=1, le=64)
    """Threads serving requests in each web process; more processes (``--workers``) scale
    further, since the threads of one process share its interpreter lock."""

    @field_validator(
        "dns_nameservers", "probe_allowed_networks", "categories", "trusted_proxies", mode="before"
    )
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        return _split_commas(value)

    @field_validator("whois_servers", mode="before")
    @classmethod
    def _server_map(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        servers: dict[str, str] = {}
        for item in _split_commas(value):
            name, sep, address = item.partition("=")
            if not sep or not name.strip() or not address.strip():
                raise ValueError(f"'{item}' is not of the form name=host:port")
            servers[name.strip().lower()] = address.strip()
        return servers

    @field_validator("probe_allowed_networks", "trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"'{item}' is not a network in CIDR notation") from None
        return value

    @field_validator("audit_key")
    @classmethod
    def _audit_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        try:
            raw = base64.b64decode(value.get_secret_value().strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("the audit key is not base64") from None
        if len(raw) < 32:
            raise ValueError(f"the audit key must hold at least 32 bytes, not {len(raw)}")
        return value

    @field_validator("categories")
    @classmethod
    def _categories(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one report category is needed")
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()
