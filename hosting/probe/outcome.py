"""What the removal probe reports, and the limits it works within.

:class:`ProbeResult` carries only what may be stored and shown: the outcome, the HTTP status,
the address, the digest and size of a body, and a plain reason. Never any of the content.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ProbeOutcome(StrEnum):
    """What one probe saw (the same values as the registry's check outcomes)."""

    PRESENT = "present"
    CHANGED = "changed"
    REMOVED = "removed"
    UNREACHABLE = "unreachable"
    BLOCKED = "blocked"


@dataclass(frozen=True, slots=True)
class ProbeLimits:
    """Every limit of the probe; a deployment builds its own to override any default."""

    timeout: float = 15.0
    """Hard wall-clock limit for one whole probe: lookups, redirects and body."""
    max_bytes: int = 50 * 2**20
    """Most body bytes hashed; a longer body is reported as too big, not hashed in part."""
    max_redirects: int = 5
    concurrency: int = 256
    """Probes in flight at once in one prober."""
    per_host: int = 8
    """Connections in flight at once to one host name."""
    connect_attempts: int = 2
    """Addresses of a name tried in turn when a connection fails."""
    dns_cache_seconds: float = 60.0
    """How long a lookup is reused within one prober (the address is checked on every use)."""
    dns_in_flight: int = 64
    """Lookups outstanding at once; more are queued rather than lost by the resolver."""


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What one probe saw: never the content, only its digest and size."""

    url: str
    outcome: ProbeOutcome
    status: int | None = None
    address: str | None = None
    """The address the final request was sent to."""
    sha256: str | None = None
    bytes_read: int | None = None
    error: str | None = None
    origin_address: str | None = None
    """The address the URL's own host was reached at (before any redirect)."""
    redirects: int = 0

    def to_json(self) -> dict[str, Any]:
        """The object ``takedown probe URL --json`` prints."""
        return {
            "url": self.url,
            "outcome": self.outcome.value,
            "status": self.status,
            "address": self.address,
            "sha256": self.sha256,
            "bytes": self.bytes_read,
            "error": self.error,
        }


@dataclass(slots=True)
class Trail:
    """What the probe learnt so far while following one URL."""

    url: str
    status: int | None = None
    address: str | None = None
    origin_address: str | None = None
    redirects: int = 0

    def result(
        self,
        outcome: ProbeOutcome,
        error: str | None = None,
        *,
        sha256: str | None = None,
        bytes_read: int | None = None,
    ) -> ProbeResult:
        return ProbeResult(
            url=self.url,
            outcome=outcome,
            status=self.status,
            address=self.address,
            error=error,
            origin_address=self.origin_address,
            redirects=self.redirects,
            sha256=sha256,
            bytes_read=bytes_read,
        )


def tls_reason(exc: ssl.SSLError) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not accepted: {exc.verify_message or exc.reason}"
    return f"TLS handshake failed: {exc.reason or type(exc).__name__}"


def connect_reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return tls_reason(exc)
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, OSError):
        return f"connection failed: {exc.strerror or type(exc).__name__}"
    return type(exc).__name__
