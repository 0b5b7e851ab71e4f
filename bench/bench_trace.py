"""Tracing speed against a generated sandbox world, next to a naive one-by-one tracer.

10,000 URLs on 1,000 domains across 100 providers, every DNS, RDAP and WHOIS answer delayed by
20 ms. The sandbox runs in its own process, so it does not share an event loop with the tracer.

- trace: the engine's resolver (settings as the sandbox prints them), one batch, shared caches;
  its time, and the CPU seconds of the tracer and of the sandbox.
- what the sandbox's servers saw (``sandbox.inflight``): the most queries each answered at once,
  against the engine's cap for it.
- the floor of this run, measured: the same number of queries per server, each server at its
  cap, from a client that only waits; the trace's time as a ratio to it (and to a computed
  floor), so a machine busy with other work shows in both figures.
- naive: what a script would do without the engine: for one URL after another, dnspython for
  the address, then port-43 WHOIS for the domain (following the registrar referral) and for
  the address (following the RIR referral), parsed with python-whois; no cache, no RDAP.
  It runs on a sample and is extrapolated to all the URLs.

    .venv/bin/python -m bench.bench_trace [--urls 10000] [--latency-ms 20] [--sample 200]

(``--sample 0`` leaves the naive tracer out.) Exits with status 1 when any sandbox server saw
more queries at once than the engine's cap for it.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import re
import socket
import time
from collections import Counter
from multiprocessing.connection import Connection
from typing import Any

import dns.resolver
import uvloop
from whois.parser import WhoisEntry

from hosting.dns import quick
from hosting.trace import Limits, MemoryCache, Target
from registry.tracing.sources import TraceSources
from settings import Settings
from urls import normalise_url

PROVIDERS = 100
DOMAINS = 1000
URLS_PER_DOMAIN_IN_GENERATOR = 20
START_LIMIT = 120.0  # seconds to wait for the sandbox
WHOIS_TIMEOUT = 10.0
REFERRAL = re.compile(r"(?im)^\s*(?:registrar whois server|referralserver|whois):\s*(\S+)")


def serve_world(urls: int, latency: float, conn: Connection) -> None:
    """The sandbox process: serve the generated world until told to stop."""
    from sandbox.testing import running_sandbox
    from sandbox.world.generate import generate_world_dict
    from sandbox.world.load import world_from_dict
    from sandbox.world.model import FaultPlan

    # The generator puts 20 URLs on a domain; ask for twice the URLs to get 1,000 domains,
    # then keep the first `urls` (URL u lies on domain u mod 1,000, so every domain has some).
    spec = generate_world_dict(7, PROVIDERS, DOMAINS * URLS_PER_DOMAIN_IN_GENERATOR)
    spec["urls"] = spec["urls"][:urls]
    world = world_from_dict(spec, where="bench")
    slow = FaultPlan(delay=latency)
    with running_sandbox(world, faults={"dns": slow, "rdap": slow, "whois": slow}) as handle:
        conn.send((handle.env, handle.urls, handle.ports.rdap))
        while conn.recv() == "load":
            # What each server saw since the last ask, and the CPU this process spent.
            conn.send((handle.inflight(reset=True), time.process_time()))


def engine_settings(env: dict[str, str]) -> Settings:
    values: dict[str, Any] = {
        k.removeprefix("TAKEDOWN_").lower(): v
        for k, v in env.items()
        if not k.startswith("TAKEDOWN_SANDBOX_")
    }
    return Settings.model_validate(values)


def trace_sources(env: dict[str, str], concurrency: int) -> TraceSources:
    """The sources the engine would build from the sandbox's settings."""
    return TraceSources.from_settings(
        engine_settings(env), limits=Limits(batch_concurrency=concurrency)
    )


async def trace_all(sources: TraceSources, urls: list[str]) -> tuple[float, float, int, int]:
    """Seconds and CPU seconds to trace every URL in one batch, hosting networks found,
    queries sent."""
    targets = []
    for raw in urls:
        url = normalise_url(raw)
        targets.append(Target(url.url, url.host, url.registrable_domain))
    started, cpu = time.perf_counter(), time.process_time()
    async with sources.open(MemoryCache()) as resolver:
        results = await resolver.resolve(targets)
        queries = resolver.queries
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    return elapsed, cpu, sum(1 for r in results if r.network is not None), queries


def cap_of(server: str, sources: TraceSources, env: dict[str, str]) -> int:
    """The concurrency the engine promises the sandbox server the in-flight counter calls
    ``server`` (``dns``, ``rdap``, ``whois:<name>``)."""
    limits = sources.limits
    if server == "dns":
        return limits.dns_concurrency
    if server == "rdap":
        return limits.for_server("127.0.0.1").concurrency
    name = server.removeprefix("whois:")
    where = dict(item.split("=", 1) for item in env["TAKEDOWN_WHOIS_SERVERS"].split(","))
    host = where.get(name, name).rpartition(":")[0]
    return min(limits.for_server(name).concurrency, limits.for_server(host).concurrency)


def report_load(
    load: dict[str, dict[str, int]], sources: TraceSources, env: dict[str, str], latency: float
) -> tuple[float, float, list[str]]:
    """Print each kind of server's peak against its cap; return the floors (all queries at one
    cap; the busiest server alone) and the servers that saw more than their cap."""
    over = []
    kinds: dict[str, list[tuple[str, int, int, int]]] = {}
    for server, seen in load.items():
        cap = cap_of(server, sources, env)
        kinds.setdefault(server.split(":")[0], []).append(
            (server, seen["peak"], cap, seen["total"])
        )
        if seen["peak"] > cap:
            over.append(f"{server} ({seen['peak']} > {cap})")
    busiest = 0.0
    total = 0
    for kind, rows in sorted(kinds.items()):
        queries = sum(r[3] for r in rows)
        total += queries
        top = max(rows, key=lambda r: r[1])
        busiest = max(busiest, max(r[3] * latency / r[2] for r in rows))
        print(
            f"  {kind}: {queries} queries to {len(rows)} server(s); highest peak {top[1]} "
            f"at once ({top[0]}, cap {top[2]})"
        )
    cap = min((r[2] for rows in kinds.values() for r in rows), default=1)
    return total * latency / cap, busiest, over


async def pure_waiting(
    env: dict[str, str], rdap_port: int, load: dict[str, dict[str, int]], caps: dict[str, int]
) -> float:
    """Seconds the sandbox takes to answer as many queries per server as the trace asked, each
    server at its cap, all servers at once, from a client doing the least it can (one
    hand-built DNS query, a keep-alive HTTP GET, a bare WHOIS exchange) and waiting on nothing
    else: the floor of this run, on this machine as loaded as it is now."""
    dns_host, _, dns_port = env["TAKEDOWN_DNS_NAMESERVERS"].partition(":")
    whois = {}
    for item in env["TAKEDOWN_WHOIS_SERVERS"].split(","):
        name, _, where = item.partition("=")
        address, _, port = where.rpartition(":")
        whois[f"whois:{name}"] = (address, int(port))

    async def dns_worker(count: int) -> None:
        for _ in range(count):
            await quick.ask((dns_host, int(dns_port)), "floor.invalid", quick.A, 5.0)

    async def rdap_worker(count: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", rdap_port)
        for _ in range(count):
            writer.write(b"GET /rir/floor/help HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)content-length:\s*(\d+)", head)
            await reader.readexactly(int(length.group(1)) if length else 0)
        writer.close()

    async def whois_worker(server: tuple[str, int], count: int) -> None:
        for _ in range(count):
            reader, writer = await asyncio.open_connection(*server)
            writer.write(b"floor.invalid\r\n")
            await reader.read()
            writer.close()

    work = []
    for name, seen in load.items():
        count, cap = seen["total"], caps[name]
        shares = [count // cap + (1 if i < count % cap else 0) for i in range(cap)]
        for share in (s for s in shares if s):
            if name == "dns":
                work.append(dns_worker(share))
            elif name == "rdap":
                work.append(rdap_worker(share))
            else:
                work.append(whois_worker(whois[name], share))
    started = time.perf_counter()
    await asyncio.gather(*work)
    return time.perf_counter() - started


class NaiveTracer:
    """One URL after another, every question asked again, as a plain script would."""

    def __init__(self, env: dict[str, str]) -> None:
        host, _, port = env["TAKEDOWN_DNS_NAMESERVERS"].partition(":")
        self.dns = dns.resolver.Resolver(configure=False)
        self.dns.nameservers = [host]
        self.dns.port = int(port)
        self.dns.lifetime = 5.0
        self.servers: dict[str, tuple[str, int]] = {}
        for item in env["TAKEDOWN_WHOIS_SERVERS"].split(","):
            name, _, where = item.partition("=")
            address, _, number = where.rpartition(":")
            self.servers[name] = (address, int(number))
        self.asked: Counter[str] = Counter()

    def whois(self, server: tuple[str, int], query: str) -> str:
        self.asked["whois"] += 1
        with socket.create_connection(server, timeout=WHOIS_TIMEOUT) as sock:
            sock.sendall(query.encode() + b"\r\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode("utf-8", "replace")

    def follow(self, first: tuple[str, int], query: str) -> str:
        text = self.whois(first, query)
        referral = REFERRAL.search(text)
        if referral:
            name = referral.group(1).removeprefix("whois://").split(":")[0].lower()
            if name in self.servers:
                text = self.whois(self.servers[name], query)
        return text

    def trace(self, raw: str) -> bool:
        """Trace one URL; True when an abuse address for the host was found."""
        url = normalise_url(raw)
        domain = url.registrable_domain or url.host
        registry = self.servers[domain.rsplit(".", 1)[-1]]
        WhoisEntry.load(domain, self.follow(registry, domain))
        try:
            self.asked["dns"] += 1
            address = str(self.dns.resolve(url.host, "A")[0])
        except dns.exception.DNSException:
            return False
        return "@" in self.follow(self.servers["ip"], address)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=256)
    args = parser.parse_args()
    latency = args.latency_ms / 1000

    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=serve_world, args=(args.urls, latency, theirs), daemon=True)
    started = time.perf_counter()
    process.start()
    over: list[str] = []
    try:
        if not ours.poll(START_LIMIT):
            raise SystemExit("the sandbox did not start in time")
        env, urls, rdap_port = ours.recv()
        print(
            f"sandbox: {len(urls)} URLs, {DOMAINS} domains, {PROVIDERS} providers, "
            f"{args.latency_ms:.0f} ms per DNS/RDAP/WHOIS answer, own process "
            f"(started in {time.perf_counter() - started:.1f} s)"
        )
        sources = trace_sources(env, args.concurrency)
        ours.send("load")
        _, sandbox_cpu = ours.recv()
        # The event loop the engine's trace runs on (registry.tracing.run).
        elapsed, cpu, found, queries = uvloop.run(trace_all(sources, urls))
        ours.send("load")
        load, sandbox_after = ours.recv()
        print(
            f"trace (engine, one batch, {args.concurrency} hosts at once): {elapsed:.2f} s, "
            f"{len(urls) / elapsed:,.0f} URLs/s, hosting network found for {found}, "
            f"{queries} questions sent; CPU {cpu:.2f} s in the tracer, "
            f"{sandbox_after - sandbox_cpu:.2f} s in the sandbox"
        )
        print("what the sandbox's servers saw:")
        floor, busiest, over = report_load(load, sources, env, latency)
        caps = {name: cap_of(name, sources, env) for name in load}
        measured = uvloop.run(pure_waiting(env, rdap_port, load, caps))
        ours.send("load")
        replayed, _ = ours.recv()
        over += [f"{n} in the floor run" for n, s in replayed.items() if s["peak"] > caps[n]]
        print(
            f"floor, measured now: {measured:.2f} s for the same queries per server, each at "
            f"its cap, from a client that only waits; trace/floor: {elapsed / measured:.2f}x"
        )
        print(
            f"floor, computed: {floor:.2f} s (every query at {args.latency_ms:.0f} ms, one "
            f"cap's worth at once; the busiest server alone: {busiest:.2f} s); "
            f"trace/floor: {elapsed / floor:.2f}x"
        )
        if over:
            print(f"CAP EXCEEDED: {', '.join(over)}")
        if args.sample <= 0:
            return
        naive = NaiveTracer(env)
        sample = urls[:: max(1, len(urls) // args.sample)][: args.sample]
        begun = time.perf_counter()
        found_naive = sum(naive.trace(url) for url in sample)
        spent = time.perf_counter() - begun
        estimate = spent / len(sample) * len(urls)
        print(
            f"naive (one by one, no cache): {len(sample)}-URL sample took {spent:.2f} s "
            f"({len(sample) / spent:,.1f} URLs/s, abuse address for {found_naive}, "
            f"{dict(naive.asked)} questions); extrapolated to {len(urls)} URLs: {estimate:,.0f} s"
        )
        print(
            f"speed-up: {estimate / elapsed:,.0f}x the naive throughput "
            f"(target: at least 20x, and under 30 s for {len(urls)} URLs: "
            f"{'met' if estimate / elapsed >= 20 and elapsed < 30 else 'NOT met'})"
        )
    finally:
        ours.send("stop")
        process.join(30)
        if process.is_alive():
            process.terminate()
    if over:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
