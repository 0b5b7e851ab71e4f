"""The entry points a flow calls: build the clients from settings, then trace a batch of URLs.

async with open_resolver(dns_nameservers=..., whois_servers=...) as resolver:
    results = await resolve_urls(urls, resolver)
    payload = [r.to_json() for r in results]
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx

from hosting.common.cache import ResolutionCache
from hosting.common.limits import Limits
from hosting.common.politeness import ServerGates
from hosting.common.reach import AddressPolicy
from hosting.dns.lookups import DnsClient
from hosting.rdap.bootstrap import RdapBootstrap
from hosting.rdap.client import RdapClient
from hosting.trace.cdn import CdnCatalogue
from hosting.trace.resolution import Target
from hosting.trace.resolver import HostingClients, HostingResolver
from hosting.trace.result import Failure, HostingResult
from hosting.whois.client import WhoisClient, WhoisOverrides
from urls.normalise import InvalidURL, normalise_url


def registrable_domain_of(host: str) -> str | None:
    """The registrable domain of ``host`` (Public Suffix List), or None."""
    try:
        return normalise_url(f"http://{host}/").registrable_domain
    except InvalidURL:
        return None


@asynccontextmanager
async def open_resolver(
    *,
    dns_nameservers: str | None = None,
    whois_servers: str | None = None,
    rdap_bootstrap_dir: str | None = None,
    cache: ResolutionCache | None = None,
    limits: Limits | None = None,
    cdn_files: Sequence[Path] = (),
    http_transport: httpx.AsyncBaseTransport | None = None,
    refresh_bootstrap: bool = False,
    allowed_networks: Sequence[str] = (),
) -> AsyncIterator[HostingResolver]:
    """A resolver wired from the ``TAKEDOWN_*`` settings; closes its HTTP clients on exit.

    WHOIS referrals and RDAP redirects that registry data chooses obey the probe's address
    policy, with ``allowed_networks`` (``TAKEDOWN_PROBE_ALLOWED_NETWORKS``) as its exceptions.

    With ``refresh_bootstrap``, a bootstrap older than 48 hours is replaced from IANA when the
    fetch succeeds (otherwise the old one is kept and used)."""
    chosen = limits or Limits()
    gates = ServerGates(chosen)
    policy = AddressPolicy(allowed_networks)
    bootstrap = RdapBootstrap.from_setting(rdap_bootstrap_dir)
    async with AsyncExitStack() as stack:
        # One TLS context for every pool (building one costs milliseconds), as httpx builds it.
        tls = httpx.create_ssl_context()
        pools = [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=http_transport,
                    timeout=httpx.Timeout(chosen.timeouts.rdap),
                    max_redirects=5,
                    headers={"User-Agent": "takedown-trace"},
                    verify=tls,
                    limits=httpx.Limits(
                        max_connections=chosen.rdap_pool_connections,
                        max_keepalive_connections=chosen.rdap_pool_connections,
                    ),
                )
            )
            for _ in range(1 if http_transport is not None else max(1, chosen.rdap_pools))
        ]
        rdap = RdapClient(pools, bootstrap, chosen, gates, policy=policy)
        if refresh_bootstrap and bootstrap.is_stale():
            rdap.bootstrap = await bootstrap.refreshed(rdap.fetch_bootstrap_file)
        clients = HostingClients(
            dns=DnsClient.from_setting(dns_nameservers, chosen),
            rdap=rdap,
            whois=WhoisClient(WhoisOverrides.parse(whois_servers), chosen, gates, policy=policy),
        )
        yield HostingResolver(
            clients,
            cache=cache,
            cdn=CdnCatalogue.load(cdn_files),
            limits=chosen,
            registrable_domain=registrable_domain_of,
        )


async def resolve_urls(urls: Sequence[str], resolver: HostingResolver) -> list[HostingResult]:
    """Trace every URL of a batch (in input order); a URL that does not normalise gets a result
    with an ``INVALID_URL`` error instead of stopping the batch."""
    targets: list[Target | None] = []
    for raw in urls:
        try:
            url = normalise_url(raw)
        except InvalidURL:
            targets.append(None)
            continue
        targets.append(Target(url.url, url.host, url.registrable_domain))
    traced = iter(await resolver.resolve([t for t in targets if t is not None]))
    results = []
    for target in targets:
        if target is None:
            invalid = HostingResult(url="", host="", registrable_domain=None)
            invalid.errors.append(Failure("url", "INVALID_URL"))
            results.append(invalid)
        else:
            results.append(next(traced))
    return results
