"""The probe's quick address lookup answers what dnspython would answer, or stands aside.

Answers are built with dnspython and read both ways: by :func:`parse_answer` and by dnspython's
own reading of the same wire (``resolve_chaining``, what its resolver uses). Broken and hostile
packets never raise anything but :class:`Unparsable`, and over a real loopback socket a forged
answer is ignored and an unsure one is handed to dnspython.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Iterator

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hosting.dns.addresses import ProbeResolver
from hosting.dns.lookups import DnsStatus, parse_nameservers
from hosting.dns.quick import (
    UNSURE,
    StubAnswer,
    Unparsable,
    ask,
    build_query,
    encode_name,
    parse_answer,
)
from tests.tracking.loopback import DnsServer, Zone

NAMES = ["example.org", "www.example.org", "cdn.example.net", "a.b.example.org", "x.example.org"]
ADDRESSES = ["192.0.2.1", "192.0.2.2", "198.51.100.7", "203.0.113.9"]
ADDRESSES6 = ["2001:db8::1", "2001:db8::2", "::ffff:192.0.2.1"]

# Few owner names, so that aliases, address records and other records often meet on one name.
record = st.tuples(
    st.sampled_from(NAMES[:3]),
    st.sampled_from(["A", "AAAA", "CNAME", "TXT"]),
    st.integers(0, 3),
)


def _wire(
    qname: str,
    rdtype: str,
    rcode: dns.rcode.Rcode,
    truncated: bool,
    records: list[tuple[str, str, int]],
) -> tuple[int, bytes, dns.message.QueryMessage]:
    query = dns.message.make_query(qname, rdtype)
    response = dns.message.make_response(query)
    response.set_rcode(rcode)
    if truncated:
        response.flags |= dns.flags.TC
    for owner, kind, n in records:
        value = {
            "A": ADDRESSES[n % len(ADDRESSES)],
            "AAAA": ADDRESSES6[n % len(ADDRESSES6)],
            "CNAME": NAMES[n % len(NAMES)] + ".",
            "TXT": f'"note {n}"',
        }[kind]
        rrset = response.find_rrset(
            response.answer,
            dns.name.from_text(owner),
            dns.rdataclass.IN,
            dns.rdatatype.from_text(kind),
            create=True,
        )
        rrset.add(dns.rdata.from_text("IN", kind, value), 60)
    wire = response.to_wire()
    message = dns.message.from_wire(wire)
    assert isinstance(message, dns.message.QueryMessage)
    return query.id, wire, message


def _expected(message: dns.message.QueryMessage) -> StubAnswer | None:
    """What dnspython's resolver makes of the answer, in the quick path's terms; None: unsure."""
    rcode = message.rcode()
    if message.flags & dns.flags.TC or rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        return None
    try:
        chain = message.resolve_chaining()
    except dns.message.ChainTooLong:
        return None
    if rcode == dns.rcode.NXDOMAIN:
        return StubAnswer(nxdomain=True)
    aliases = [str(rrset[0].target).rstrip(".").lower() for rrset in chain.cnames]
    return StubAnswer(
        addresses=[rdata.to_text() for rdata in chain.answer or []], cname_chain=aliases
    )


@settings(max_examples=600, deadline=None, database=None)
@given(
    qname=st.sampled_from(NAMES[:3]),
    rdtype=st.sampled_from(["A", "AAAA"]),
    rcode=st.sampled_from([dns.rcode.NOERROR] * 4 + [dns.rcode.NXDOMAIN, dns.rcode.SERVFAIL]),
    truncated=st.booleans(),
    records=st.lists(record, max_size=8),
)
@example(  # an alias and address records on the name asked: the address records win
    qname="www.example.org",
    rdtype="A",
    rcode=dns.rcode.NOERROR,
    truncated=False,
    records=[
        ("www.example.org", "CNAME", 2),
        ("cdn.example.net", "A", 1),
        ("www.example.org", "A", 0),
    ],
)
def test_the_quick_reading_agrees_with_dnspython_or_stands_aside(
    qname: str,
    rdtype: str,
    rcode: dns.rcode.Rcode,
    truncated: bool,
    records: list[tuple[str, str, int]],
) -> None:
    query_id, wire, message = _wire(qname, rdtype, rcode, truncated, records)
    encoded = encode_name(qname)
    assert encoded is not None
    quick = parse_answer(wire, query_id, encoded[0], dns.rdatatype.from_text(rdtype))
    if quick is not UNSURE:
        assert quick == _expected(message)


@pytest.mark.parametrize(
    ("records", "rdtype", "answer"),
    [
        ([("www.example.org", "A", 0), ("www.example.org", "A", 2)], "A",
         StubAnswer(addresses=["192.0.2.1", "198.51.100.7"])),
        ([("www.example.org", "CNAME", 2), ("cdn.example.net", "A", 3)], "A",
         StubAnswer(addresses=["203.0.113.9"])),
        ([("www.example.org", "AAAA", 2)], "AAAA", StubAnswer(addresses=["::ffff:192.0.2.1"])),
        ([], "A", StubAnswer()),
    ],
)  # fmt: skip
def test_the_common_answers_are_read_without_dnspython(
    records: list[tuple[str, str, int]], rdtype: str, answer: StubAnswer
) -> None:
    query_id, wire, message = _wire("www.example.org", rdtype, dns.rcode.NOERROR, False, records)
    name = encode_name("www.example.org")
    assert name is not None
    quick = parse_answer(wire, query_id, name[0], dns.rdatatype.from_text(rdtype))
    assert quick == _expected(message)  # in the order of the wire, which dnspython shuffles
    assert quick is not None and sorted(quick.addresses) == answer.addresses


def test_a_record_repeated_in_the_answer_is_one_address() -> None:
    www = encode_name("www.example.org")
    assert www is not None
    header = struct.pack("!HHHHHH", 9, 0x8180, 1, 2, 0, 0)
    question = www[1] + struct.pack("!HH", 1, 1)
    twice = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes((192, 0, 2, 1))
    packet = header + question + twice + twice
    message = dns.message.from_wire(packet)
    assert isinstance(message, dns.message.QueryMessage)
    assert (
        parse_answer(packet, 9, www[0], 1)
        == _expected(message)
        == StubAnswer(addresses=["192.0.2.1"])
    )


def test_nxdomain_is_read_and_an_nxdomain_with_records_is_left_to_dnspython() -> None:
    name = encode_name("gone.example.org")
    assert name is not None
    query_id, wire, _ = _wire("gone.example.org", "A", dns.rcode.NXDOMAIN, False, [])
    assert parse_answer(wire, query_id, name[0], 1) == StubAnswer(nxdomain=True)
    query_id, wire, _ = _wire(
        "www.example.org", "A", dns.rcode.NXDOMAIN, False, [("www.example.org", "CNAME", 0)]
    )
    www = encode_name("www.example.org")
    assert www is not None
    assert parse_answer(wire, query_id, www[0], 1) is UNSURE


def test_an_answer_to_another_query_or_question_is_not_taken() -> None:
    query_id, wire, _ = _wire(
        "www.example.org", "A", dns.rcode.NOERROR, False, [("www.example.org", "A", 0)]
    )
    www = encode_name("www.example.org")
    other = encode_name("x.example.org")
    assert www is not None and other is not None
    with pytest.raises(Unparsable):
        parse_answer(wire, (query_id + 1) % 65536, www[0], 1)
    with pytest.raises(Unparsable):
        parse_answer(wire, query_id, other[0], 1)
    with pytest.raises(Unparsable):
        parse_answer(wire, query_id, www[0], 28)
    query = build_query(query_id, www[1], 1)
    with pytest.raises(Unparsable):
        parse_answer(query, query_id, www[0], 1)  # our own query echoed back is no answer


def test_names_dns_cannot_carry_are_left_to_dnspython() -> None:
    assert encode_name("a" * 64 + ".example.org") is None
    assert encode_name(".".join(["abcdefghi"] * 26)) is None
    assert encode_name("bad..example.org") is None
    assert encode_name("bücher.example") is None
    assert encode_name("WWW.Example.ORG.") == (
        (b"www", b"example", b"org"),
        b"\x03www\x07example\x03org\x00",
    )


def _packets() -> Iterator[tuple[int, bytes]]:
    query_id, wire, _ = _wire(
        "www.example.org",
        "A",
        dns.rcode.NOERROR,
        False,
        [("www.example.org", "CNAME", 2), ("cdn.example.net", "A", 3), ("x.example.org", "A", 1)],
    )
    for end in range(len(wire)):
        yield query_id, wire[:end]


def test_every_truncation_of_an_answer_is_refused_or_left_to_dnspython() -> None:
    www = encode_name("www.example.org")
    assert www is not None
    for query_id, packet in _packets():
        with contextlib.suppress(Unparsable):
            assert parse_answer(packet, query_id, www[0], 1) is UNSURE


def test_a_compression_loop_cannot_hold_the_reader() -> None:
    www = encode_name("www.example.org")
    assert www is not None
    header = struct.pack("!HHHHHH", 7, 0x8180, 1, 1, 0, 0)
    question = www[1] + struct.pack("!HH", 1, 1)
    looping = header + question + b"\xc0" + bytes((len(header) + len(question),))
    looping += struct.pack("!HHIH", 1, 1, 60, 4) + bytes(4)
    assert parse_answer(looping, 7, www[0], 1) is UNSURE
    forward = header + b"\xc0\x20" + question[len(www[1]) :]
    with pytest.raises(Unparsable):
        parse_answer(forward, 7, www[0], 1)


@settings(max_examples=500, deadline=None, database=None)
@given(packet=st.binary(max_size=300), flip=st.integers(0, 299), byte=st.integers(0, 255))
def test_hostile_packets_raise_nothing_but_unparsable(packet: bytes, flip: int, byte: int) -> None:
    www = encode_name("www.example.org")
    assert www is not None
    query_id, wire, _ = _wire(
        "www.example.org", "A", dns.rcode.NOERROR, False, [("www.example.org", "A", 0)]
    )
    mutated = bytearray(wire)
    mutated[flip % len(mutated)] = byte
    for candidate in (packet, bytes(mutated), wire[:12] + packet):
        try:
            answer = parse_answer(candidate, query_id, www[0], 1)
        except Unparsable:
            continue
        assert answer is UNSURE or isinstance(answer, StubAnswer)


# --- over a real socket ---------------------------------------------------------------------


class _Forger(Zone):
    """Sends a forged answer (wrong id, an attacker's address) before the true one."""

    def datagrams(self, query: dns.message.Message) -> list[dns.message.Message]:
        forged = dns.message.make_response(query)
        forged.id = (query.id + 1) % 65536
        forged.answer.append(
            dns.rrset.from_text(query.question[0].name, 60, "IN", "A", "203.0.113.66")
        )
        return [forged, self.answer(query)]


def test_a_forged_answer_is_ignored_and_the_true_one_taken() -> None:
    with DnsServer(_Forger(a={"www.example.org": ["192.0.2.1"]})) as server:
        answer = asyncio.run(ask(("127.0.0.1", server.port), "www.example.org", 1, 2.0))
    assert answer == StubAnswer(addresses=["192.0.2.1"])


class _FailsFirst(Zone):
    """Answers SERVFAIL to the first query, then as the zone says."""

    failed = False

    def answer(self, query: dns.message.Message) -> dns.message.Message:
        if not self.failed:
            self.failed = True
            response = dns.message.make_response(query)
            response.set_rcode(dns.rcode.SERVFAIL)
            return response
        return super().answer(query)


def test_an_unsure_quick_answer_is_asked_again_through_dnspython() -> None:
    zone = _FailsFirst(a={"www.example.org": ["192.0.2.1"]})
    with DnsServer(zone) as server:
        resolver = ProbeResolver.from_setting(server.nameservers, lifetime=2.0)
        answer = asyncio.run(resolver.resolve_host("www.example.org"))
        assert server.asked == ["www.example.org.", "www.example.org."]
    assert (answer.status, answer.addresses) == (DnsStatus.OK, ["192.0.2.1"])


class _Silent(Zone):
    """Never answers."""

    def datagrams(self, query: dns.message.Message) -> list[dns.message.Message]:
        return []


def test_a_silent_nameserver_is_a_timeout() -> None:
    with DnsServer(_Silent()) as server:
        resolver = ProbeResolver.from_setting(server.nameservers, lifetime=0.9)
        assert asyncio.run(resolver.resolve_host("www.example.org")).status is DnsStatus.TIMEOUT


@settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(host=st.sampled_from(["www.example.org", "gone.example.org", "bare.example.org"]))
def test_the_resolver_gives_the_same_answer_with_and_without_the_quick_try(host: str) -> None:
    zone = Zone(a={"www.example.org": ["192.0.2.1", "192.0.2.2"]}, ns={"bare.example.org": ["n"]})
    with DnsServer(zone) as server:
        quick = ProbeResolver.from_setting(server.nameservers, lifetime=2.0)
        general = ProbeResolver(parse_nameservers(server.nameservers), 2.0, quick=False)
        assert asyncio.run(quick.resolve_host(host)) == asyncio.run(general.resolve_host(host))
