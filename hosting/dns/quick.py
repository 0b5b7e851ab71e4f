"""The probe's quick address lookup: one hand-built UDP query, the common answers read by hand.

A recheck of 100,000 URLs looks up tens of thousands of host names, and a general DNS library
spends most of a lookup building and parsing objects the probe never uses. This module asks one
nameserver for the A (or AAAA) records of one name, with a query built by hand, and reads only
the answers that are unambiguous: addresses at the end of a CNAME chain, NXDOMAIN, and
"no such records" (for the name asked or at the end of its CNAME chain). Anything else (a
truncated answer, a server failure, an answer that does not parse, a timeout) comes back as
:data:`UNSURE`, and the caller asks the general resolver, which retries, tries the other
nameservers and falls back to TCP. So this path only ever answers what
the general path would have answered, sooner.

Spoofing defences match the general path's: a fresh socket per query (a port of the kernel's
choosing), connected to the nameserver so that the kernel drops datagrams from anyone else, a
random query id, and an answer is taken only if it echoes the id and the question.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import socket
import struct
from dataclasses import dataclass, field
from typing import Final

import dns.ipv6

A: Final = 1
CNAME: Final = 5
AAAA: Final = 28
_CLASS_IN: Final = 1
_HEADER = struct.Struct("!HHHHHH")
_RR_FIXED = struct.Struct("!HHIH")
_QUESTION_TAIL = struct.Struct("!HH")
_FLAG_QR: Final = 0x8000
_FLAG_TC: Final = 0x0200
_FLAG_RD: Final = 0x0100
_OPCODE_MASK: Final = 0x7800
_RCODE_MASK: Final = 0x000F
_NOERROR: Final = 0
_NXDOMAIN: Final = 3
MAX_CHAIN: Final = 16
"""CNAME hops followed inside one answer; a longer chain is left to the general resolver."""
_MAX_POINTERS: Final = 32
_PLAIN_NAME: Final = re.compile(rb"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")


class Unparsable(ValueError):
    """The packet is not a DNS message this module can read."""


@dataclass(frozen=True, slots=True)
class StubAnswer:
    """What one query came to: the addresses, or that the name or its records do not exist."""

    nxdomain: bool = False
    addresses: list[str] = field(default_factory=list)
    cname_chain: list[str] = field(default_factory=list)
    """Each alias followed to reach the addresses, in order (lower case, no final dot)."""


UNSURE: Final = None
"""No answer this module is sure of: ask the general resolver."""

Name = tuple[bytes, ...]
"""A domain name as its lower-cased labels, without the root."""


def encode_name(host: str) -> tuple[Name, bytes] | None:
    """The labels and wire form of an ASCII host name; None when it is not one DNS can carry."""
    try:
        raw = host.rstrip(".").encode("ascii")
    except UnicodeEncodeError:
        return None
    labels = tuple(raw.lower().split(b".")) if raw else ()
    if any(not 0 < len(label) < 64 for label in labels):
        return None
    wire = b"".join(bytes((len(label),)) + label for label in labels) + b"\0"
    if len(wire) > 255:
        return None
    return labels, wire


def build_query(query_id: int, wire_name: bytes, rdtype: int) -> bytes:
    """A standard recursive query for ``rdtype`` records of the name, without EDNS."""
    return (
        _HEADER.pack(query_id, _FLAG_RD, 1, 0, 0, 0)
        + wire_name
        + _QUESTION_TAIL.pack(rdtype, _CLASS_IN)
    )


def read_name(packet: bytes, offset: int) -> tuple[Name, int]:
    """The name at ``offset`` (following compression pointers) and the offset after it.

    Pointers must point backwards, and only so many are followed: a packet cannot loop us.
    """
    labels: list[bytes] = []
    end: int | None = None
    pointers = 0
    length = 0
    while True:
        if offset >= len(packet):
            raise Unparsable("name runs past the end of the packet")
        size = packet[offset]
        if size == 0:
            break
        if size & 0xC0 == 0xC0:
            if offset + 1 >= len(packet):
                raise Unparsable("truncated compression pointer")
            target = ((size & 0x3F) << 8) | packet[offset + 1]
            if target >= offset or pointers == _MAX_POINTERS:
                raise Unparsable("compression pointer that does not point back")
            if end is None:
                end = offset + 2
            pointers += 1
            offset = target
            continue
        if size & 0xC0:
            raise Unparsable("unknown label type")
        label = packet[offset + 1 : offset + 1 + size]
        if len(label) != size:
            raise Unparsable("label runs past the end of the packet")
        length += size + 1
        if length > 255:
            raise Unparsable("name longer than 255 octets")
        labels.append(label.lower())
        offset += 1 + size
    return tuple(labels), (offset + 1 if end is None else end)


def parse_answer(packet: bytes, query_id: int, name: Name, rdtype: int) -> StubAnswer | None:
    """The answer ``packet`` gives to our question, or :data:`UNSURE`.

    Raises :class:`Unparsable` for a packet that is not an answer to our query at all (wrong
    id or question, or not a response): the caller keeps waiting for the real one.
    """
    if len(packet) < _HEADER.size:
        raise Unparsable("shorter than a DNS header")
    answer_id, flags, questions, answers, _, _ = _HEADER.unpack_from(packet)
    if answer_id != query_id or not flags & _FLAG_QR or flags & _OPCODE_MASK or questions != 1:
        raise Unparsable("not a response to our query")
    asked, offset = read_name(packet, _HEADER.size)
    if offset + 4 > len(packet):
        raise Unparsable("truncated question")
    if asked != name or _QUESTION_TAIL.unpack_from(packet, offset) != (rdtype, _CLASS_IN):
        raise Unparsable("answers another question")
    offset += 4
    rcode = flags & _RCODE_MASK
    if flags & _FLAG_TC or rcode not in (_NOERROR, _NXDOMAIN):
        return UNSURE
    if rcode == _NXDOMAIN:
        # With records (an alias whose target is gone), the general path reads the chain.
        return StubAnswer(nxdomain=True) if answers == 0 else UNSURE
    aliases: dict[Name, Name] = {}
    records: dict[Name, list[str]] = {}
    try:
        for _ in range(answers):
            owner, offset = read_name(packet, offset)
            if offset + _RR_FIXED.size > len(packet):
                raise Unparsable("truncated record")
            rr_type, rr_class, _, size = _RR_FIXED.unpack_from(packet, offset)
            offset += _RR_FIXED.size
            data = packet[offset : offset + size]
            if len(data) != size:
                raise Unparsable("record data runs past the end of the packet")
            if rr_class == _CLASS_IN and rr_type == CNAME:
                if owner in aliases:
                    return UNSURE  # two CNAMEs for one name: not ours to judge
                aliases[owner] = read_name(packet, offset)[0]
            elif rr_class == _CLASS_IN and rr_type == rdtype:
                found = records.setdefault(owner, [])
                address = _address(rdtype, data)
                if address not in found:  # a record set holds each address once
                    found.append(address)
            offset += size
    except Unparsable:
        return UNSURE  # the question was ours, but the records are broken: ask again properly
    # As a resolver reads an answer: the records of the name asked, else of its alias, and so on.
    current = name
    chain: list[Name] = []
    for _ in range(MAX_CHAIN):
        if current in records or current not in aliases:
            break
        current = aliases[current]
        chain.append(current)
    else:
        return UNSURE
    addresses = records.get(current, [])
    followed = [b".".join(alias) for alias in chain]
    if not all(_PLAIN_NAME.fullmatch(alias) for alias in followed):
        return UNSURE  # an alias no host name spells: the general path reads (and escapes) it
    return StubAnswer(addresses=addresses, cname_chain=[a.decode("ascii") for a in followed])


def _address(rdtype: int, data: bytes) -> str:
    if rdtype == A and len(data) == 4:
        return socket.inet_ntop(socket.AF_INET, data)
    if rdtype == AAAA and len(data) == 16:
        return dns.ipv6.inet_ntoa(data)  # the general path's own spelling of an IPv6 address
    raise Unparsable("address record of the wrong size")


async def ask(server: tuple[str, int], host: str, rdtype: int, timeout: float) -> StubAnswer | None:
    """The ``rdtype`` records of ``host`` from ``server`` in one try, or :data:`UNSURE`."""
    found = await ask_keeping_packet(server, host, rdtype, timeout)
    return None if found is None else found[0]


async def ask_keeping_packet(
    server: tuple[str, int], host: str, rdtype: int, timeout: float
) -> tuple[StubAnswer, bytes] | None:
    """As :func:`ask`, with the packet the answer was read from (a trace keeps it as
    evidence)."""
    encoded = encode_name(host)
    if encoded is None:
        return UNSURE
    name, wire = encoded
    query_id = secrets.randbits(16)
    family = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
    loop = asyncio.get_running_loop()
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            sock.connect(server)
            sock.send(build_query(query_id, wire, rdtype))
            async with asyncio.timeout(timeout):
                while True:
                    packet = await loop.sock_recv(sock, 65535)
                    try:
                        answer = parse_answer(packet, query_id, name, rdtype)
                    except Unparsable:
                        continue  # not the answer to this query: keep waiting for it
                    return None if answer is None else (answer, packet)
    except (OSError, TimeoutError):
        return UNSURE
