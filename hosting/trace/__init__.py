"""Who hosts a URL: its network, ASN, country and abuse desk, its registrar, any CDN in front.

A pure planner (:mod:`hosting.trace.resolution`) says what to ask next; a driver
(:mod:`hosting.trace.resolver`) asks DNS, RDAP and WHOIS for it. Callers build a resolver with
:func:`open_resolver` and trace batches with :func:`resolve_urls`.
"""

from hosting.common.cache import CacheEntry, JsonObject, MemoryCache, ResolutionCache
from hosting.common.contacts import AbuseContact, rank_contacts
from hosting.common.evidence import Evidence
from hosting.common.limits import KNOWN_SERVER_POLICIES, Limits, RateLimit, ServerPolicy
from hosting.trace.resolution import Target
from hosting.trace.resolver import HostingResolver
from hosting.trace.result import HostingResult
from hosting.trace.tracer import open_resolver, resolve_urls

__all__ = [
    "KNOWN_SERVER_POLICIES",
    "AbuseContact",
    "CacheEntry",
    "Evidence",
    "HostingResolver",
    "HostingResult",
    "JsonObject",
    "Limits",
    "MemoryCache",
    "RateLimit",
    "ResolutionCache",
    "ServerPolicy",
    "Target",
    "open_resolver",
    "rank_contacts",
    "resolve_urls",
]
