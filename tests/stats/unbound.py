"""A real Unbound resolver on loopback that loads an RPZ file, for the tests to query.

It never talks to the internet: a local root zone (``auth-zone: "."``, used as upstream data)
answers every name the tests ask about, so the iterator has nothing to fetch.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rcode

UNBOUND = shutil.which("unbound") or (
    "/usr/sbin/unbound" if Path("/usr/sbin/unbound").exists() else None
)
NSD_CHECKZONE = shutil.which("nsd-checkzone") or (
    "/usr/sbin/nsd-checkzone" if Path("/usr/sbin/nsd-checkzone").exists() else None
)
START_TIMEOUT_SECONDS = 15.0


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 right now."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port on 127.0.0.1")


def root_zone(names: dict[str, str]) -> str:
    """A root zone holding one A record per name (``name → address``)."""
    lines = [
        "$ORIGIN .",
        "$TTL 300",
        "@ IN SOA ns.test. hostmaster.test. 1 3600 600 2419200 300",
        "@ IN NS ns.test.",
        "ns.test. IN A 127.0.0.1",
    ]
    lines += [f"{name.rstrip('.')}. IN A {address}" for name, address in names.items()]
    return "\n".join(lines) + "\n"


def rcode_of(port: int, name: str, timeout: float = 1.0) -> dns.rcode.Rcode:
    query = dns.message.make_query(name, "A")
    return dns.query.udp(query, "127.0.0.1", port=port, timeout=timeout).rcode()


@contextmanager
def running_unbound(
    folder: Path, rpz_file: Path, rpz_name: str, names: dict[str, str]
) -> Iterator[int]:
    """Start Unbound in the foreground with ``rpz_file`` loaded; yield its port; stop it."""
    assert UNBOUND is not None
    (folder / "root.zone").write_text(root_zone(names))
    port = free_port()
    config = folder / "unbound.conf"
    config.write_text(
        f"""server:
  interface: 127.0.0.1
  port: {port}
  do-daemonize: no
  chroot: ""
  username: ""
  directory: "{folder}"
  pidfile: ""
  use-syslog: no
  logfile: ""
  verbosity: 1
  do-ip6: no
  module-config: "respip iterator"
  access-control: 127.0.0.0/8 allow
auth-zone:
  name: "."
  zonefile: "{folder / "root.zone"}"
  for-downstream: no
  for-upstream: yes
  fallback-enabled: no
rpz:
  name: "{rpz_name}"
  zonefile: "{rpz_file}"
"""
    )
    log_path = folder / "unbound.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [UNBOUND, "-d", "-c", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
        try:
            _wait_until_answering(process, port, next(iter(names)), log_path)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait_until_answering(
    process: subprocess.Popen[bytes], port: int, name: str, log: Path
) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"unbound exited ({process.returncode}): {log.read_text()}")
        try:
            rcode_of(port, name, timeout=0.3)
            return
        except (dns.exception.Timeout, ConnectionRefusedError):
            time.sleep(0.1)
    raise RuntimeError(f"unbound did not answer within {START_TIMEOUT_SECONDS} s")
