"""Sandbox benchmark: start-up time of a large generated world, DNS and RDAP queries per second.

    python bench/bench_sandbox.py [--spec 1,100,100000] [--dns 20000] [--rdap 10000]

The sandbox runs in its own process (as `sandbox up` does), the load comes from this one, all on
loopback. Loops are bounded by count and by time, and the sandbox is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import dns.message

from sandbox.world.generate import generate_world_dict, parse_generate_spec

START_LIMIT = 120.0  # seconds: give up waiting for the sandbox after this
PHASE_LIMIT = 30.0  # seconds: no measuring phase runs longer than this
DNS_WINDOW = 64  # UDP queries in flight at once
RDAP_CONNECTIONS = 16  # keep-alive connections in parallel
RECV_TIMEOUT = 1.0


def start_sandbox(spec: str, folder: Path) -> tuple[subprocess.Popen[str], dict[str, str], float]:
    """Start `sandbox up --generate spec`; return it, its settings and the seconds it took."""
    env_file = folder / "sandbox.env"
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "up",
            "--generate",
            spec,
            "--env-file",
            str(env_file),
            "--state-dir",
            str(folder / "state"),
            "--content-port",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=folder,
    )
    while not env_file.exists():
        if process.poll() is not None or time.perf_counter() - started > START_LIMIT:
            process.kill()
            raise SystemExit(f"sandbox did not start: {process.communicate()[1]}")
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    time.sleep(0.05)  # the file is written in one go; let the write finish
    settings = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    return process, settings, seconds


def bench_dns(server: str, wires: list[bytes], count: int) -> tuple[int, int, float]:
    """Send `count` queries from `wires` with a window in flight; return answered, lost, seconds."""
    host, port = server.split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(RECV_TIMEOUT)
    sock.connect((host, int(port)))
    answered = lost = 0
    started = time.perf_counter()
    try:
        while answered + lost < count and time.perf_counter() - started < PHASE_LIMIT:
            batch = min(DNS_WINDOW, count - answered - lost)
            for i in range(batch):
                sock.send(wires[(answered + lost + i) % len(wires)])
            for _ in range(batch):
                try:
                    sock.recv(4096)
                    answered += 1
                except TimeoutError:
                    lost += 1
    finally:
        sock.close()
    return answered, lost, time.perf_counter() - started


async def _rdap_worker(host: str, port: int, paths: list[str], count: int, deadline: float) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    done = 0
    try:
        while done < count and time.perf_counter() < deadline:
            path = paths[done % len(paths)]
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            await writer.drain()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            done += 1
    finally:
        writer.close()
        await writer.wait_closed()
    return done


async def bench_rdap(
    bootstrap: Path, domains: list[str], addresses: list[str], count: int
) -> tuple[int, float]:
    """GET domain and ip objects over keep-alive connections; return answered, seconds."""
    dns_services = json.loads((bootstrap / "dns.json").read_text())["services"]
    ip_services = json.loads((bootstrap / "ipv4.json").read_text())["services"]
    tld_base = {tld: entry[1][0] for entry in dns_services for tld in entry[0]}
    rir_base = ip_services[0][1][0]  # an RIR redirects for other regions, which is fine here
    paths = [
        urlsplit(tld_base[d.rsplit(".", 1)[-1]]).path + f"domain/{d}"
        for d in domains
        if d.rsplit(".", 1)[-1] in tld_base
    ]
    paths += [urlsplit(rir_base).path + f"ip/{a}" for a in addresses]
    random.Random(2).shuffle(paths)
    parts = urlsplit(rir_base)
    started = time.perf_counter()
    deadline = started + PHASE_LIMIT
    per_connection = count // RDAP_CONNECTIONS
    done = await asyncio.gather(
        *(
            _rdap_worker(
                parts.hostname or "127.0.0.1",
                parts.port or 80,
                paths[i::RDAP_CONNECTIONS],
                per_connection,
                deadline,
            )
            for i in range(RDAP_CONNECTIONS)
        )
    )
    return sum(done), time.perf_counter() - started


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="1,100,100000", help="SEED,PROVIDERS,URLS")
    parser.add_argument("--dns", type=int, default=20_000, help="DNS queries to send")
    parser.add_argument("--rdap", type=int, default=8_000, help="RDAP queries to send")
    args = parser.parse_args()
    mapping = generate_world_dict(*parse_generate_spec(args.spec))
    hosts = sorted({urlsplit(u["url"]).hostname or "" for u in mapping["urls"]})
    domains = [d["name"] for d in mapping["domains"]]
    addresses = [p["ranges"][0].replace(".0/24", ".10") for p in mapping["providers"]]
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as scratch:
        process, settings, startup = start_sandbox(args.spec, Path(scratch))
        try:
            print(
                f"world {args.spec}: {len(mapping['urls'])} URLs, {len(domains)} domains, "
                f"{len(mapping['providers'])} providers (cpus: {os.cpu_count()})"
            )
            print(f"start-up (process start to settings written): {startup:.2f} s")
            server = settings["TAKEDOWN_DNS_NAMESERVERS"]
            random.Random(1).shuffle(hosts)
            wires = [dns.message.make_query(h, "A").to_wire() for h in hosts]
            # First every distinct name once (nothing cached), then the same names again.
            for phase in ("distinct names, first time", "repeated names"):
                answered, lost, seconds = bench_dns(server, wires, min(args.dns, len(wires)))
                print(
                    f"DNS  UDP A, {phase}: {answered} answered, {lost} lost in "
                    f"{seconds:.2f} s = {answered / seconds:,.0f} q/s"
                )
            bootstrap = Path(settings["TAKEDOWN_RDAP_BOOTSTRAP_DIR"])
            done, seconds = asyncio.run(bench_rdap(bootstrap, domains, addresses, args.rdap))
            print(
                f"RDAP GET domain/ip over {RDAP_CONNECTIONS} keep-alive connections: {done} "
                f"in {seconds:.2f} s = {done / seconds:,.0f} q/s"
            )
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


if __name__ == "__main__":
    main()
