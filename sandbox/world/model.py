"""The world a sandbox serves: who hosts what, who registered which domain, who gets mail.

The model is plain frozen data. Everything the servers need at query time is indexed in
dicts when the world is built (`WorldIndex`), so no answer ever scans the world.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Literal

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

RirStyle = Literal["arin", "ripe", "lacnic"]
WhoisModel = Literal["thick", "thin"]
DomainLayout = Literal["gtld", "sidn", "nominet", "afnic", "nz"]
AbuseIn = Literal["record", "remarks"]
DomainStatus = Literal["active", "servfail", "nxdomain"]
PartnerKind = Literal["hotline", "police"]
HostAction = Literal["remove", "ignore", "reupload", "move", "forward"]
RegistrarAction = Literal["suspend", "ignore"]
RemovalCode = Literal[404, 410]
ReplyKind = Literal["auto_ack", "bounce", "removed", "not_our_customer"]
BounceFormat = Literal["postfix", "exim"]

SERVER_NAMES = ("dns", "whois", "rdap", "content", "smtp")


class WorldError(ValueError):
    """The world description is inconsistent; the message names the offending entry."""


@dataclass(frozen=True, slots=True)
class HostBehaviour:
    """What a provider or CDN does, `delay` seconds after a notice about one of its URLs."""

    action: HostAction = "remove"
    delay: float = 10.0
    status: RemovalCode = 404
    reupload_after: float = 30.0  # only for action "reupload": seconds after the removal
    move_to: str | None = None  # only for action "move": the provider that takes the content


@dataclass(frozen=True, slots=True)
class RegistrarBehaviour:
    """What a registrar does, `delay` seconds after a notice about a domain it sponsors."""

    action: RegistrarAction = "ignore"
    delay: float = 20.0


@dataclass(frozen=True, slots=True)
class ReplyBehaviour:
    """How a party's mailbox answers a notice, `delay` seconds after it arrives.

    ``bounce``: the mailbox is dead; its mail server accepts the notice, then returns a
    delivery status notification in the format of ``mta``, and nobody acts on the notice.
    ``auto_ack``: a ticket system's acknowledgement (``ticket_prefix`` and a number in the
    subject). ``removed`` and ``not_our_customer``: a person's reply quoting the notice.
    """

    kind: ReplyKind
    delay: float = 2.0
    mta: BounceFormat = "postfix"
    ticket_prefix: str = "Ticket#"


@dataclass(frozen=True, slots=True)
class Rir:
    """A regional internet registry: answers WHOIS and RDAP for the ranges of its region."""

    id: str
    name: str
    style: RirStyle
    whois_server: str


@dataclass(frozen=True, slots=True)
class Registry:
    """The registry of one top-level domain."""

    tld: str
    name: str
    whois_server: str
    whois: WhoisModel = "thick"
    rdap: bool = True
    layout: DomainLayout = "gtld"


@dataclass(frozen=True, slots=True)
class Registrar:
    """A registrar: sponsors domains, runs its own WHOIS (the full record for thin registries)."""

    id: str
    name: str
    iana_id: int
    whois_server: str
    abuse_email: str
    abuse_phone: str = "+1.5555550100"
    country: str = "US"
    language: str = "en"
    behaviour: RegistrarBehaviour = RegistrarBehaviour()
    email: str | None = None
    """The registrar's general contact: all that AFNIC- and .nz-style registries print of it."""
    replies: tuple[ReplyBehaviour, ...] = ()

    @property
    def general_email(self) -> str:
        """The general contact as published: ``email``, else contact@ the abuse desk's domain.
        A mailbox of the world like any other, so a notice sent there is delivered."""
        return self.email or "contact@" + self.abuse_email.rpartition("@")[2]


@dataclass(frozen=True, slots=True)
class Network:
    """An organisation holding address ranges: a hosting provider or a CDN."""

    id: str
    name: str
    asn: int
    ranges: tuple[IPNetwork, ...]
    country: str
    rir: str
    abuse_email: str
    domain: str  # the organisation's own domain, used for reverse DNS names
    language: str = "en"
    abuse_in: AbuseIn = "record"
    behaviour: HostBehaviour = HostBehaviour()
    is_cdn: bool = False
    replies: tuple[ReplyBehaviour, ...] = ()
    also_email: str | None = None
    """A second abuse address, published in a remark (after the abuse entity, so ranked
    second); it reaches the same party, and never bounces."""

    @property
    def noc_email(self) -> str:
        """The technical contact its records publish (ARIN's OrgTech, LACNIC's when the abuse
        desk is not in the record): a mailbox of the world, reaching the same party."""
        return f"noc@{self.domain}"

    @property
    def home_address(self) -> IPAddress:
        """The address content lands on when it moves to this network."""
        home = self.ranges[0]
        if home.num_addresses == 1:
            return home.network_address  # ::1/128: the one address there is
        first: IPAddress = home.network_address + 1
        return first


@dataclass(frozen=True, slots=True)
class NameRecords:
    """The records of one DNS name. A name with a CNAME has no other records."""

    a: tuple[str, ...] = ()
    aaaa: tuple[str, ...] = ()
    cname: str | None = None
    txt: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Domain:
    """A registered domain with its registrar, name servers and records."""

    name: str
    registrar: str
    nameservers: tuple[str, ...]
    records: dict[str, NameRecords]  # fully qualified name -> records
    status: DomainStatus = "active"
    origin: str | None = None  # the provider behind a CDN, when the domain is fronted by one
    created: str = "2021-03-04T10:00:00Z"

    @property
    def tld(self) -> str:
        """The last label: the key of the domain's registry."""
        return self.name.rsplit(".", 1)[-1]


@dataclass(frozen=True, slots=True)
class ContentUrl:
    """A URL of the world and the synthetic bytes it serves (known by size and digest)."""

    host: str
    path: str  # with query, starting with "/"
    size: int
    sha256: str

    @property
    def key(self) -> str:
        """The port-free identity of the URL: host plus path."""
        return self.host + self.path

    def url(self, port: int) -> str:
        """The URL as served on the content port."""
        return f"http://{self.host}:{port}{self.path}"


@dataclass(frozen=True, slots=True)
class Partner:
    """A partner hotline or police unit, as in the partner directory."""

    code: str
    kind: PartnerKind
    name: str
    country: str
    email: str
    language: str = "en"
    clears_before_host_notice: bool = False
    # Seconds after which a partner passes a referral on to the host; None: it never does.
    forward_delay: float | None = None


@dataclass(frozen=True, slots=True)
class Hotline:
    """The hotline running the engine against this world."""

    code: str
    name: str
    country: str
    from_address: str
    reply_to: str


@dataclass(frozen=True, slots=True)
class Escalation:
    """The escalation ladder written to the partner directory (durations like "60s")."""

    reminder_every: str = "60s"
    escalate_after: str = "180s"
    analyst_after: str = "600s"


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """Faults one server injects: a delay on every query and shares of failed queries."""

    delay: float = 0.0  # seconds added before every answer
    timeout_share: float = 0.0  # no answer at all (the client must time out)
    refuse_share: float = 0.0  # connection reset / DNS REFUSED
    truncate_share: float = 0.0  # WHOIS answer cut short / DNS TC bit on UDP
    rate_limit_share: float = 0.0  # RDAP 429, WHOIS refusal text, DNS REFUSED
    hold: float = 30.0  # how long a "timeout" keeps the connection silent
    seed: int = 0


@dataclass(frozen=True, slots=True)
class World:
    """A whole simulated internet, as described by one world file or generated."""

    name: str
    seed: int
    content_port: int
    hotline: Hotline
    rirs: tuple[Rir, ...]
    registries: tuple[Registry, ...]
    registrars: tuple[Registrar, ...]
    networks: tuple[Network, ...]  # providers and CDNs
    domains: tuple[Domain, ...]
    hostnames: dict[str, NameRecords]  # infrastructure names outside any registered domain
    urls: tuple[ContentUrl, ...]
    partners: tuple[Partner, ...]
    escalation: Escalation = Escalation()
    faults: dict[str, FaultPlan] = field(default_factory=dict)
    time_scale: float = 1.0  # behaviour delays are divided by this
