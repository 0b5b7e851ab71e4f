"""Reading port-43 WHOIS answers about addresses: RPSL as RIPE, APNIC, AFRINIC and LACNIC print
it, and ARIN's ``Key: value`` blocks.

Pure functions over decoded text. The network is the most specific ``inetnum``/``inet6num``/
``NetRange`` in the answer; its abuse desk is found by following its handles to the role, person,
organisation or IRT objects printed in the same answer.
"""

from __future__ import annotations

import ipaddress
import re

from hosting.common.contacts import (
    EMAIL_IN_TEXT,
    Confidence,
    ContactCollector,
    ContactKind,
    rank_contacts,
)
from hosting.common.registrations import (
    NetworkRecord,
    cidrs_for_range,
    clean_cidr,
    clean_country,
    clean_text,
)
from hosting.whois.parse import DEFAULT_PARSE_CAP

RpslObject = list[tuple[str, str]]
_NETWORK_KEYS = ("inetnum", "inet6num", "netrange", "cidr")
_ABUSE_COMMENT = re.compile(r"abuse contact for .* is '([^']{3,254})'", re.IGNORECASE)


def split_objects(text: str) -> list[RpslObject]:
    """RPSL objects: runs of ``key: value`` lines separated by blank or comment lines."""
    objects: list[RpslObject] = []
    current: RpslObject = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith(("%", "#")):
            if current:
                objects.append(current)
                current = []
            continue
        if line[:1] in (" ", "\t", "+") and current:
            key, value = current[-1]
            current[-1] = (key, f"{value} {line.strip().lstrip('+').strip()}")
            continue
        match = re.match(r"^([A-Za-z][A-Za-z0-9_-]{0,40}):\s*(.*)$", line)
        if match:
            current.append((match.group(1).lower(), match.group(2).strip()))
    if current:
        objects.append(current)
    return objects


def _first(obj: RpslObject, *keys: str) -> str | None:
    return next((v for k, v in obj if k in keys and v), None)


def _expand_lacnic(prefix: str) -> str:
    # LACNIC abbreviates IPv4 prefixes ("200.57.128/19"); pad the missing octets.
    address, _, length = prefix.partition("/")
    if ":" not in address and address.count(".") < 3:
        address = address + ".0" * (3 - address.count("."))
    return f"{address}/{length}" if length else address


def _network_cidrs(obj: RpslObject) -> list[str]:
    cidr = _first(obj, "cidr")
    if cidr:
        found = [c for c in (clean_cidr(p) for p in cidr.split(",")) if c]
        if found:
            return found
    value = _first(obj, "inetnum", "inet6num", "netrange") or ""
    if " - " in value:
        start, _, end = value.partition(" - ")
        return cidrs_for_range(start, end)
    single = clean_cidr(_expand_lacnic(value)) if value else None
    return [single] if single else []


def _size(cidrs: list[str]) -> int:
    return sum(ipaddress.ip_network(c).num_addresses for c in cidrs) if cidrs else 2**128


def parse_ip_whois(text: str, server: str, *, cap: int = DEFAULT_PARSE_CAP) -> NetworkRecord:
    """Owner, prefixes, country, origin AS and abuse desk of an address from one WHOIS answer.

    Abuse desks, best first: ``OrgAbuseEmail``/``abuse-mailbox`` of the objects the network
    refers to, RIPE's "Abuse contact ... is" line, the object an ``abuse-c`` handle names, any
    other abuse mailbox in the answer, and last addresses in ``remarks``.
    """
    text = text[:cap]
    record = NetworkRecord(source="whois", server=server)
    objects = split_objects(text)
    networks = [o for o in objects if o and o[0][0] in _NETWORK_KEYS]
    # The most specific network is the one that was assigned to the host.
    network = min(networks, key=lambda o: _size(_network_cidrs(o)), default=[])
    by_handle = {v.upper(): o for o in objects for k, v in o if k == "nic-hdl"}
    by_handle.update(
        {v.upper(): o for o in objects for k, v in o[:1] if k in ("irt", "organisation")}
    )
    record.cidrs = _network_cidrs(network)
    record.name = clean_text(_first(network, "netname", "owner"))
    record.handle = clean_text(_first(network, "nethandle", "ownerid"))
    org = [o for o in objects if o and o[0][0] in ("orgname", "organisation", "org-name")]
    record.organisation = clean_text(
        _first(network, "owner", "organization")
        or (_first(org[0], "orgname", "org-name") if org else None)
        or _first(network, "descr")
    )
    record.country = clean_country(_first(network, "country")) or (
        clean_country(_first(org[0], "country")) if org else None
    )
    origin = _first(network, "originas", "origin") or next(
        (v for o in objects for k, v in o if k in ("originas", "origin")), None
    )
    if origin and re.fullmatch(r"(?i)as?\d{1,10}", origin.split(",")[0].strip()):
        record.asn = int(re.sub(r"\D", "", origin.split(",")[0]))
    collector = ContactCollector.for_source(f"whois:{server}")
    others = ContactCollector.for_source(f"whois:{server}")
    for obj in objects:
        for key, value in obj:
            if key in ("orgabuseemail", "rabuseemail"):
                collector.offer(value, Confidence.ABUSE_ROLE, f"{key} field")
    for line in text.splitlines()[:3000]:
        match = _ABUSE_COMMENT.search(line) if line.startswith("%") else None
        if match:
            collector.offer(match.group(1), Confidence.ABUSE_ROLE, "'Abuse contact for' line")
    referenced = [
        v.upper() for k, v in network if k in ("abuse-c", "mnt-irt", "org", "admin-c", "tech-c")
    ]
    for handle in referenced:
        for key, value in by_handle.get(handle, []):
            if key == "abuse-mailbox":
                collector.offer(value, Confidence.ABUSE_ROLE, f"abuse-mailbox of {handle[:40]}")
    for handle in [v.upper() for k, v in network if k == "abuse-c"]:
        for key, value in by_handle.get(handle, []):
            if key in ("e-mail", "email"):
                collector.offer(value, Confidence.ABUSE_HANDLE, "e-mail of the abuse-c object")
    for obj in objects:
        for key, value in obj:
            if key == "abuse-mailbox":
                collector.offer(value, Confidence.ABUSE_ELSEWHERE, "abuse-mailbox in the answer")
            elif key in ("e-mail", "email", "orgtechemail", "orgnocemail", "rtechemail"):
                others.general(value, ContactKind.ORGANISATION, f"{key} field")
            elif key == "remarks":
                for found in EMAIL_IN_TEXT.findall(value[:1000]):
                    collector.offer(found, Confidence.REMARKS, "address in remarks")
    abuse = {c.email for c in collector.contacts}
    # No desk at all: the maintainer's or organisation's own address still reaches someone.
    record.abuse_contacts = rank_contacts(collector.contacts or others.contacts)
    record.other_emails = list(
        dict.fromkeys(c.email for c in others.contacts if c.email not in abuse)
    )
    record.notes = collector.notes + others.notes
    return record
