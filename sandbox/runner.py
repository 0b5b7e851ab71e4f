"""Starting and stopping every server of a world together, and the settings that point at them."""

from __future__ import annotations

import asyncio
import contextlib
import mailbox
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sandbox.behaviour import NoticeBehaviour
from sandbox.bootstrap import write_bootstrap
from sandbox.faults import FaultInjector
from sandbox.inflight import InFlight
from sandbox.mailstore import Mailstore
from sandbox.outputs import served_networks, write_directory, write_env, write_reports
from sandbox.replies import ReplyDesk
from sandbox.servers.content import ContentServer
from sandbox.servers.dns import DnsServer
from sandbox.servers.inspection import InspectionServer, InspectionService
from sandbox.servers.rdap import RdapServer
from sandbox.servers.smtp import SmtpServer
from sandbox.servers.whois import WhoisServer, WhoisService
from sandbox.state import Clock, WorldState
from sandbox.world.check import check_world
from sandbox.world.model import SERVER_NAMES, FaultPlan, World

SERVICE_HOST = "127.0.0.1"
REPLY_TICK = 0.25
"""Seconds between two looks at the replies waiting to be delivered."""


@dataclass(frozen=True, slots=True)
class PortPlan:
    """Where each server listens; 0 means any free port. `content` None: the world's port."""

    dns: int = 0
    rdap: int = 0
    smtp: int = 0
    inspect: int = 0
    content: int | None = None
    whois: dict[str, int] = field(default_factory=dict)  # server name -> port

    @classmethod
    def from_base(cls, base: int, whois_names: list[str]) -> PortPlan:
        """Consecutive ports from `base`: dns, rdap, smtp, inspect, then one per WHOIS server."""
        return cls(
            dns=base,
            rdap=base + 1,
            smtp=base + 2,
            inspect=base + 3,
            whois={name: base + 10 + i for i, name in enumerate(whois_names)},
        )


@dataclass(slots=True)
class BoundPorts:
    """Where each server actually listens."""

    dns: int = 0
    rdap: int = 0
    smtp: int = 0
    inspect: int = 0
    content: int = 0
    whois: dict[str, int] = field(default_factory=dict)


def whois_services(world: World) -> list[WhoisService]:
    """Every named WHOIS server of the world: registries, registrars, RIRs."""
    services = [WhoisService(r.whois_server, r) for r in world.registries]
    services += [WhoisService(r.whois_server, r) for r in world.registrars]
    services += [WhoisService(r.whois_server, r) for r in world.rirs]
    return services


class Sandbox:
    """Every server of one world; `start` and `close` must run on the same event loop."""

    def __init__(
        self,
        world: World,
        workdir: Path,
        *,
        ports: PortPlan | None = None,
        faults: dict[str, FaultPlan] | None = None,
        clock: Clock = time.time,
        mail_dir: Path | None = None,
    ) -> None:
        unknown = set(faults or {}) - set(SERVER_NAMES)
        if unknown:
            raise ValueError(f"unknown servers in faults: {sorted(unknown)}")
        self.world = world
        self.workdir = workdir
        self.plan = ports or PortPlan()
        self.index = check_world(world)
        self.state = WorldState(self.index, clock)
        self.behaviour = NoticeBehaviour(self.state)
        self.inbox = workdir / "inbox"
        self.replies = ReplyDesk(self.index, clock, self.inbox.resolve())
        self.store = Mailstore(self.state, self.behaviour, spool=mail_dir, replies=self.replies)
        self._ticker: asyncio.Task[None] | None = None
        plans = {**world.faults, **(faults or {})}
        self.faults = {name: FaultInjector(plans.get(name)) for name in SERVER_NAMES}
        self.inflight = InFlight()
        """Queries each DNS, WHOIS and RDAP server is answering at once, and the peaks."""
        self.dns = DnsServer(self.state, self.faults["dns"], self.inflight)
        self.whois = WhoisServer(self.state, self.faults["whois"], self.inflight)
        self.rdap = RdapServer(self.state, self.faults["rdap"], self.inflight)
        self.content = ContentServer(self.state, self.faults["content"])
        self.smtp = SmtpServer(self.store, self.faults["smtp"])
        self.inspection: InspectionServer | None = None
        self.ports = BoundPorts()
        self.env: dict[str, str] = {}

    def set_faults(self, server: str, plan: FaultPlan) -> None:
        """Change one server's fault plan from its next query on (call on the loop's thread)."""
        if server not in self.faults:
            raise ValueError(f"unknown server {server!r}; known: {SERVER_NAMES}")
        self.faults[server].set_plan(plan)

    async def start(self) -> None:
        """Bind every server, then write the bootstrap, directory, reports and settings."""
        plan, host = self.plan, SERVICE_HOST
        try:
            self.ports.dns = await self.dns.start(host, plan.dns)
            await self.whois.start(host, whois_services(self.world), plan.whois)
            self.ports.whois = dict(self.whois.ports)
            self.ports.rdap = await self.rdap.start(host, plan.rdap)
            self.ports.smtp = await self.smtp.start(host, plan.smtp)
            content = self.world.content_port if plan.content is None else plan.content
            self.ports.content = await self.content.start(self.index.content_addresses, content)
            service = InspectionService(self.state, self.store, self.ports.content)
            self.inspection = InspectionServer(service)
            self.ports.inspect = await self.inspection.start(host, plan.inspect)
        except BaseException:
            await self.close()
            raise
        self.env = self._write_files()
        self._ticker = asyncio.get_running_loop().create_task(self._tick())

    async def _tick(self) -> None:
        """Deliver the world's replies when due, whether or not anyone looks at the world."""
        while True:
            await asyncio.sleep(REPLY_TICK)
            self.replies.pump()

    def _write_files(self) -> dict[str, str]:
        self.workdir.mkdir(parents=True, exist_ok=True)
        mailbox.Maildir(self.inbox, create=True)  # the engine's inbox, empty until replies come
        assert self.rdap.service is not None
        bootstrap = write_bootstrap(self.rdap.service, self.workdir / "rdap-bootstrap")
        directory = write_directory(self.world, self.workdir / "directory.yaml")
        # Confirmed just before the world starts, so statistics read in seconds.
        reports = write_reports(
            self.world,
            self.ports.content,
            self.workdir / "reports.csv",
            confirmed_until=datetime.fromtimestamp(self.state.clock(), UTC),
        )
        host = SERVICE_HOST
        whois = [
            f"{r.tld}={host}:{self.ports.whois[r.whois_server]}" for r in self.world.registries
        ]
        arin_like = [r for r in self.world.rirs if r.style == "arin"] or list(self.world.rirs)
        if arin_like:
            whois.append(f"ip={host}:{self.ports.whois[arin_like[0].whois_server]}")
        whois += [f"{name}={host}:{port}" for name, port in self.ports.whois.items()]
        return {
            "TAKEDOWN_DNS_NAMESERVERS": f"{host}:{self.ports.dns}",
            "TAKEDOWN_WHOIS_SERVERS": ",".join(whois),
            "TAKEDOWN_RDAP_BOOTSTRAP_DIR": str(bootstrap.resolve()),
            "TAKEDOWN_SMTP_URL": f"smtp://{host}:{self.ports.smtp}",
            "TAKEDOWN_PROBE_ALLOWED_NETWORKS": ",".join(served_networks(self.world)),
            "TAKEDOWN_DIRECTORY": str(directory.resolve()),
            "TAKEDOWN_INBOX_URL": f"maildir://{self.inbox.resolve()}",
            "TAKEDOWN_SANDBOX_REPORTS": str(reports.resolve()),
            "TAKEDOWN_SANDBOX_INSPECT": f"http://{host}:{self.ports.inspect}",
        }

    def write_env(self, path: Path) -> Path:
        """Write the settings to a .env file at `path`."""
        return write_env(self.env, path)

    async def close(self) -> None:
        """Stop every server; safe to call on a partly started sandbox."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        if self.inspection is not None:
            await self.inspection.close()
        await self.content.close()
        await self.smtp.close()
        await self.rdap.close()
        await self.whois.close()
        await self.dns.close()
