"""Reading a world file (YAML) into a `World`, with errors that name the offending entry."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import yaml

from sandbox.world.check import check_world
from sandbox.world.model import (
    SERVER_NAMES,
    ContentUrl,
    Domain,
    Escalation,
    FaultPlan,
    HostBehaviour,
    Hotline,
    NameRecords,
    Network,
    Partner,
    Registrar,
    RegistrarBehaviour,
    Registry,
    ReplyBehaviour,
    Rir,
    World,
    WorldError,
)
from sandbox.world.synthetic import DEFAULT_SIZE, synthetic_sha256

WORLD_VERSION = 1


class _Entry:
    """One mapping of the world file; every key must be read or it is reported as unknown."""

    def __init__(self, raw: object, where: str) -> None:
        if not isinstance(raw, Mapping):
            raise WorldError(f"{where}: expected a mapping")
        self.raw: Mapping[str, Any] = raw
        self.where = where
        self._seen: set[str] = set()

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        self._seen.add(key)
        if key not in self.raw or self.raw[key] is None:
            if default is ...:
                raise WorldError(f"{self.where}: missing {key!r}")
            return default
        value = self.raw[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float)):
            raise WorldError(f"{self.where}.{key}: {value!r} has the wrong type")
        return value

    def strings(self, key: str, default: tuple[str, ...] | None = None) -> tuple[str, ...]:
        values = self.get(key, list, None)
        if values is None:
            if default is None:
                raise WorldError(f"{self.where}: missing {key!r}")
            return default
        if not all(isinstance(v, str) for v in values):
            raise WorldError(f"{self.where}.{key}: expected a list of strings")
        return tuple(values)

    def entries(self, key: str) -> list[_Entry]:
        items = self.get(key, list, [])
        return [_Entry(item, f"{self.where}.{key}[{i}]") for i, item in enumerate(items)]

    def done(self) -> None:
        unknown = sorted(set(self.raw) - self._seen)
        if unknown:
            raise WorldError(f"{self.where}: unknown keys {unknown}")


def load_world(path: Path) -> World:
    """Read and validate the world file at `path`."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise WorldError(f"{path}: not valid YAML ({error})") from error
    return world_from_dict(raw, where=path.name)


def world_from_dict(raw: object, where: str = "world") -> World:
    """Build a `World` from parsed YAML and check that all its references hold."""
    top = _Entry(raw, where)
    if top.get("version", int) != WORLD_VERSION:
        raise WorldError(f"{where}: only version {WORLD_VERSION} is understood")
    seed = top.get("seed", int, 0)
    content_port = top.get("content_port", int, 8080)
    fqdn = _fqdn_checker(where)
    world = World(
        name=top.get("name", str, "world"),
        seed=seed,
        content_port=content_port,
        time_scale=top.get("time_scale", float, 1.0),
        hotline=_hotline(_Entry(top.get("hotline", dict), f"{where}.hotline")),
        escalation=_escalation(top.get("escalation", dict, {}), where),
        faults=_faults(top.get("faults", dict, {}), where),
        rirs=tuple(_rir(e) for e in top.entries("rirs")),
        registries=tuple(_registry(e) for e in top.entries("registries")),
        registrars=tuple(_registrar(e) for e in top.entries("registrars")),
        networks=tuple(_network(e, cdn=False) for e in top.entries("providers"))
        + tuple(_network(e, cdn=True) for e in top.entries("cdns")),
        domains=tuple(_domain(e, fqdn) for e in top.entries("domains")),
        hostnames={
            fqdn(name): _records(_Entry(value, f"{where}.hostnames.{name}"))
            for name, value in top.get("hostnames", dict, {}).items()
        },
        urls=tuple(_url(e, seed, content_port) for e in top.entries("urls")),
        partners=tuple(_partner(e) for e in top.entries("partners")),
    )
    top.done()
    check_world(world)
    return world


def _fqdn_checker(where: str) -> Any:
    def fqdn(name: object) -> str:
        if not isinstance(name, str) or not name or " " in name:
            raise WorldError(f"{where}: {name!r} is not a host name")
        return name.lower().rstrip(".")

    return fqdn


def _hotline(e: _Entry) -> Hotline:
    hotline = Hotline(
        code=e.get("code", str),
        name=e.get("name", str),
        country=e.get("country", str),
        from_address=e.get("from_address", str),
        reply_to=e.get("reply_to", str),
    )
    e.done()
    return hotline


def _escalation(raw: dict[str, Any], where: str) -> Escalation:
    e = _Entry(raw, f"{where}.escalation")
    default = Escalation()
    escalation = Escalation(
        reminder_every=e.get("reminder_every", str, default.reminder_every),
        escalate_after=e.get("escalate_after", str, default.escalate_after),
        analyst_after=e.get("analyst_after", str, default.analyst_after),
    )
    e.done()
    return escalation


def fault_plan_from_dict(raw: object, where: str) -> FaultPlan:
    """Read one server's fault settings (the `faults.<server>` mapping of a world file)."""
    e = _Entry(raw, where)
    plan = FaultPlan(
        delay=e.get("delay", float, 0.0),
        timeout_share=e.get("timeout_share", float, 0.0),
        refuse_share=e.get("refuse_share", float, 0.0),
        truncate_share=e.get("truncate_share", float, 0.0),
        rate_limit_share=e.get("rate_limit_share", float, 0.0),
        hold=e.get("hold", float, 30.0),
        seed=e.get("seed", int, 0),
    )
    e.done()
    return plan


def _faults(raw: dict[str, Any], where: str) -> dict[str, FaultPlan]:
    unknown = sorted(set(raw) - set(SERVER_NAMES))
    if unknown:
        raise WorldError(f"{where}.faults: unknown servers {unknown}; known: {SERVER_NAMES}")
    return {name: fault_plan_from_dict(v, f"{where}.faults.{name}") for name, v in raw.items()}


def _rir(e: _Entry) -> Rir:
    style = e.get("style", str)
    if style not in ("arin", "ripe", "lacnic"):
        raise WorldError(f"{e.where}.style: {style!r} is not arin, ripe or lacnic")
    rir = Rir(e.get("id", str), e.get("name", str), style, e.get("whois_server", str).lower())
    e.done()
    return rir


def _registry(e: _Entry) -> Registry:
    registry = Registry(
        tld=e.get("tld", str).lower().strip("."),
        name=e.get("name", str),
        whois_server=e.get("whois_server", str).lower(),
        whois=_choice(e, "whois", ("thick", "thin"), "thick"),
        rdap=e.get("rdap", bool, True),
        layout=_choice(e, "layout", ("gtld", "sidn", "nominet", "afnic", "nz"), "gtld"),
    )
    e.done()
    return registry


def _registrar(e: _Entry) -> Registrar:
    b = _Entry(e.get("behaviour", dict, {}), f"{e.where}.behaviour")
    behaviour = RegistrarBehaviour(
        action=_choice(b, "action", ("suspend", "ignore"), "ignore"),
        delay=b.get("delay", float, 20.0),
    )
    b.done()
    registrar = Registrar(
        id=e.get("id", str),
        name=e.get("name", str),
        iana_id=e.get("iana_id", int),
        whois_server=e.get("whois_server", str).lower(),
        abuse_email=e.get("abuse_email", str).lower(),
        abuse_phone=e.get("abuse_phone", str, "+1.5555550100"),
        country=e.get("country", str, "US"),
        language=e.get("language", str, "en"),
        behaviour=behaviour,
        email=_lower(e.get("email", str, None)),
        replies=_replies(e),
    )
    e.done()
    return registrar


def _lower(value: str | None) -> str | None:
    return value.lower() if value else None


def _network(e: _Entry, *, cdn: bool) -> Network:
    b = _Entry(e.get("behaviour", dict, {}), f"{e.where}.behaviour")
    actions = ("remove", "ignore", "reupload", "move", "forward")
    behaviour = HostBehaviour(
        action=_choice(b, "action", actions, "remove"),
        delay=b.get("delay", float, 10.0),
        status=cast(Any, _choice(b, "status", (404, 410), 404)),
        reupload_after=b.get("reupload_after", float, 30.0),
        move_to=b.get("move_to", str, None),
    )
    b.done()
    try:
        ranges = tuple(ipaddress.ip_network(r) for r in e.strings("ranges"))
    except ValueError as error:
        raise WorldError(f"{e.where}.ranges: {error}") from error
    network = Network(
        id=e.get("id", str),
        name=e.get("name", str),
        asn=e.get("asn", int),
        ranges=ranges,
        country=e.get("country", str),
        rir=e.get("rir", str),
        abuse_email=e.get("abuse_email", str).lower(),
        domain=e.get("domain", str).lower(),
        language=e.get("language", str, "en"),
        abuse_in=_choice(e, "abuse_in", ("record", "remarks"), "record"),
        behaviour=behaviour,
        is_cdn=cdn,
        replies=_replies(e),
        also_email=(e.get("also_email", str, None) or "").lower() or None,
    )
    e.done()
    return network


def _replies(e: _Entry) -> tuple[ReplyBehaviour, ...]:
    found = []
    for r in e.entries("replies"):
        reply = ReplyBehaviour(
            kind=_choice(r, "kind", ("auto_ack", "bounce", "removed", "not_our_customer"), None),
            delay=r.get("delay", float, 2.0),
            mta=_choice(r, "mta", ("postfix", "exim"), "postfix"),
            ticket_prefix=r.get("ticket_prefix", str, "Ticket#"),
        )
        r.done()
        if reply.kind is None:
            raise WorldError(f"{r.where}.kind is required")
        found.append(reply)
    return tuple(found)


def _records(e: _Entry) -> NameRecords:
    cname = e.get("cname", str, None)
    records = NameRecords(
        a=e.strings("a", ()),
        aaaa=e.strings("aaaa", ()),
        cname=cname.lower().rstrip(".") if cname else None,
        txt=e.strings("txt", ()),
    )
    e.done()
    if records.cname and (records.a or records.aaaa or records.txt):
        raise WorldError(f"{e.where}: a name with a CNAME can have no other records")
    return records


def _domain(e: _Entry, fqdn: Any) -> Domain:
    name = fqdn(e.get("name", str))
    records: dict[str, NameRecords] = {}
    for label, value in e.get("records", dict, {}).items():
        full = name if label == "@" else f"{fqdn(label)}.{name}"
        records[full] = _records(_Entry(value, f"{e.where}.records.{label}"))
    domain = Domain(
        name=name,
        registrar=e.get("registrar", str),
        nameservers=tuple(fqdn(n) for n in e.strings("nameservers")),
        records=records,
        status=_choice(e, "status", ("active", "servfail", "nxdomain"), "active"),
        origin=e.get("origin", str, None),
        created=e.get("created", str, "2021-03-04T10:00:00Z"),
    )
    e.done()
    return domain


def _url(e: _Entry, seed: int, content_port: int) -> ContentUrl:
    text = e.get("url", str)
    parts = urlsplit(text)
    if parts.scheme != "http" or not parts.hostname:
        raise WorldError(f"{e.where}: {text!r} is not an http URL with a host")
    if parts.port not in (None, content_port):
        raise WorldError(f"{e.where}: {text!r} is not on the content port {content_port}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.hostname.lower()
    size = e.get("size", int, DEFAULT_SIZE)
    digest = synthetic_sha256(seed, host + path, size)
    stated = e.get("sha256", str, digest).lower()
    if stated != digest:
        raise WorldError(f"{e.where}: sha256 {stated} is not the digest of its synthetic bytes")
    e.done()
    return ContentUrl(host=host, path=path, size=size, sha256=digest)


def _partner(e: _Entry) -> Partner:
    kind = _choice(e, "kind", ("hotline", "police"), None)
    # Partner hotlines pass referrals on to the host by default; police units keep them.
    default_forward = 5.0 if kind == "hotline" else None
    partner = Partner(
        code=e.get("code", str),
        kind=kind,
        name=e.get("name", str),
        country=e.get("country", str),
        email=e.get("email", str).lower(),
        language=e.get("language", str, "en"),
        clears_before_host_notice=e.get("clears_before_host_notice", bool, False),
        forward_delay=e.get("forward_delay", float, default_forward),
    )
    e.done()
    return partner


def _choice(e: _Entry, key: str, allowed: tuple[Any, ...], default: Any) -> Any:
    value = e.get(key, (str, int), default if default is not None else ...)
    if value not in allowed:
        raise WorldError(f"{e.where}.{key}: {value!r} is not one of {list(allowed)}")
    return value
