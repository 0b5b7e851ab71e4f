"""The registrable domain of a host, from the Public Suffix List shipped with the package.

Only the ICANN section counts: a registrar sells ``example.co.uk``, and ``user.github.io`` is
registered as ``github.io``, which is whose WHOIS and RDAP records matter for a takedown.
No copy of the list is downloaded at run time; the package's dated copy is the one used.
"""

from __future__ import annotations

from functools import lru_cache

from publicsuffixlist import PublicSuffixList


@lru_cache(maxsize=1)
def _list() -> PublicSuffixList:
    return PublicSuffixList(only_icann=True)


@lru_cache(maxsize=65536)
def registrable_domain(host: str) -> str | None:
    """Return the registrable domain of an ASCII host name, or None if it is a public suffix."""
    result: str | None = _list().privatesuffix(host.lower().rstrip("."))
    return result
