"""Failures of the sources a trace asks, named for the condition.

Callers branch on the class (or its ``code``), never on message text. Every class carries a short
``code`` that goes into a result's ``errors`` list, so a liaison officer sees *why* a source gave
nothing: ``{"source": "rdap", "error": "RATE_LIMITED"}``.
"""

from __future__ import annotations


class HostingError(Exception):
    """Base of every failure raised by the hosting clients."""

    code = "ERROR"


class SourceTimeout(HostingError):
    """A source did not answer within its hard timeout."""

    code = "TIMEOUT"


class RateLimited(HostingError):
    """A source refused us for asking too often (HTTP 429, or WHOIS refusal text)."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        """Seconds the source asked us to wait, when it said so."""


class QueryRefused(HostingError):
    """A source answered, but with a refusal that waiting will not cure."""

    code = "REFUSED"


class NotFound(HostingError):
    """The registry holds no object for the query (RDAP 404, WHOIS "no match")."""

    code = "NOT_FOUND"


class NoServiceKnown(HostingError):
    """Neither the bootstrap nor the overrides name a server for this query."""

    code = "NO_SERVICE"


class MalformedAnswer(HostingError):
    """An answer arrived but cannot be read (bad JSON, wrong shape, cut off by the size cap)."""

    code = "MALFORMED"


class TransportFailure(HostingError):
    """The connection failed (refused, reset, TLS error) before an answer arrived."""

    code = "TRANSPORT"


class InvalidQuery(HostingError):
    """We were asked to send something no server should receive (control characters, junk)."""

    code = "INVALID_QUERY"


RETRYABLE: tuple[type[HostingError], ...] = (SourceTimeout, RateLimited, TransportFailure)
"""Failures worth another attempt after a pause; the rest are answers in their own right."""


class RefusedTarget(HostingError):
    """Registry data named a server we must not connect to (loopback, private, link-local …);
    nothing was sent to it."""

    code = "REFUSED_TARGET"
