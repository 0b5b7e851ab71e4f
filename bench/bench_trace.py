"""How much a batch trace saves over tracing URLs one by one.

10,000 URLs on 1,000 registrable domains hosted by 100 providers, against in-process sources
that answer after a fixed latency (so the figures measure the planner, the coalescing and the
caches, not the network). One-by-one is timed on a sample and extrapolated.

    .venv/bin/python bench/bench_trace.py [--urls 10000] [--latency-ms 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter

from hosting.cdn import CdnCatalogue
from hosting.dns import DnsAnswer, DnsStatus
from hosting.evidence import Evidence
from hosting.limits import Limits
from hosting.rdap import RdapAnswer
from hosting.resolution import Target
from hosting.resolver import HostingClients, HostingResolver
from hosting.whois import WhoisChain

PROVIDERS = 100
DOMAINS = 1000


def _address(domain_index: int) -> str:
    provider = domain_index % PROVIDERS
    return f"10.{provider}.{(domain_index // PROVIDERS) % 250}.{domain_index % 250 + 1}"


class World:
    """Answers every source with fixed latency and counts the questions."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.asked: Counter[str] = Counter()

    async def resolve_host(self, host: str) -> DnsAnswer:
        self.asked["dns"] += 1
        await asyncio.sleep(self.latency / 4)
        index = int(host.split(".")[1].removeprefix("dom"))
        return DnsAnswer(host, DnsStatus.OK, [_address(index)])

    def _answer(self, query: str, body: dict[str, object]) -> RdapAnswer:
        raw = json.dumps(body).encode()
        return RdapAnswer(
            query, "rdap.bench", body, Evidence.capture("rdap", "rdap.bench", query, raw)
        )

    async def domain(self, name: str) -> RdapAnswer:
        self.asked["rdap-domain"] += 1
        await asyncio.sleep(self.latency)
        registrar = int(name.split(".")[0].removeprefix("dom")) % 20
        vcard = ["vcard", [["email", {}, "text", f"abuse@registrar{registrar}.example"]]]
        body = {
            "objectClassName": "domain",
            "entities": [
                {
                    "roles": ["registrar"],
                    "vcardArray": ["vcard", [["fn", {}, "text", f"Registrar {registrar}"]]],
                    "entities": [{"roles": ["abuse"], "vcardArray": vcard}],
                }
            ],
        }
        return self._answer(f"domain/{name}", body)

    async def ip(self, address: str) -> RdapAnswer:
        self.asked["rdap-ip"] += 1
        await asyncio.sleep(self.latency)
        provider = address.split(".")[1]
        vcard = ["vcard", [["email", {}, "text", f"abuse@provider{provider}.example"]]]
        body = {
            "objectClassName": "ip network",
            "name": f"PROVIDER-{provider}",
            "country": "BZ",
            "cidr0_cidrs": [{"v4prefix": f"10.{provider}.0.0", "length": 16}],
            "entities": [{"roles": ["abuse"], "vcardArray": vcard}],
        }
        return self._answer(f"ip/{address}", body)

    async def lookup_domain(self, domain: str) -> WhoisChain:
        raise AssertionError("RDAP answers fully; WHOIS is never needed here")

    async def lookup_ip(self, address: str) -> WhoisChain:
        raise AssertionError("RDAP answers fully; WHOIS is never needed here")


def targets(count: int) -> list[Target]:
    found = []
    for n in range(count):
        domain = n % DOMAINS
        host = f"{['www', 'cdn'][n % 2]}.dom{domain}.bz"
        found.append(Target(f"http://{host}/item/{n}", host, f"dom{domain}.bz"))
    return found


def resolver_for(world: World) -> HostingResolver:
    clients = HostingClients(dns=world, rdap=world, whois=world)
    return HostingResolver(clients, cdn=CdnCatalogue.load(), limits=Limits(batch_concurrency=200))


async def batch(count: int, latency: float) -> tuple[float, Counter[str]]:
    world = World(latency)
    started = time.perf_counter()
    results = await resolver_for(world).resolve(targets(count))
    elapsed = time.perf_counter() - started
    assert all(r.network and r.registrar for r in results)
    return elapsed, world.asked


async def one_by_one(sample: int, latency: float) -> tuple[float, Counter[str]]:
    world = World(latency)
    started = time.perf_counter()
    for target in targets(sample):
        await resolver_for(world).resolve_one(target)
    return time.perf_counter() - started, world.asked


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--urls", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--sample", type=int, default=100)
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    elapsed, asked = asyncio.run(batch(args.urls, latency))
    print(
        f"batch: {args.urls} URLs, {DOMAINS} domains, {PROVIDERS} providers, "
        f"source latency {args.latency_ms:.0f} ms"
    )
    print(f"  wall time {elapsed:.2f} s ({args.urls / elapsed:,.0f} URLs/s)")
    print(f"  queries: {dict(asked)} (total {sum(asked.values())})")
    single, single_asked = asyncio.run(one_by_one(args.sample, latency))
    estimate = single / args.sample * args.urls
    print(f"one by one (no sharing), {args.sample}-URL sample: {single:.2f} s")
    print(
        f"  extrapolated to {args.urls} URLs: {estimate:,.0f} s, "
        f"{sum(single_asked.values()) / args.sample * args.urls:,.0f} queries"
    )
    print(f"  batch speed-up: {estimate / elapsed:,.0f}x")


if __name__ == "__main__":
    main()
