"""Injected faults: the engine's retries and limits can meet a bad day on purpose."""

from __future__ import annotations

import smtplib
import socket

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import httpx
import pytest

from sandbox.faults import Fault, FaultInjector
from sandbox.testing import SandboxHandle, running_sandbox
from sandbox.world.model import FaultPlan, World

pytestmark = pytest.mark.network
TIMEOUT = 5.0
ALWAYS = 1.0


def _whois(port: int, query: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as conn:
        conn.sendall(query.encode() + b"\r\n")
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_draws_follow_the_shares_and_repeat_for_a_seed() -> None:
    plan = FaultPlan(timeout_share=0.25, rate_limit_share=0.25, seed=5)
    first = [FaultInjector(plan).draw() for _ in range(1)]
    injector = FaultInjector(plan)
    draws = [injector.draw() for _ in range(2000)]
    assert draws[:1] == first
    assert set(draws) == {Fault.NONE, Fault.TIMEOUT, Fault.RATE_LIMIT}
    assert 300 < draws.count(Fault.TIMEOUT) < 700
    assert FaultInjector().draw() is Fault.NONE


def test_rdap_rate_limit_answers_429_with_retry_after(example_world: World) -> None:
    faults = {"rdap": FaultPlan(rate_limit_share=ALWAYS)}
    with (
        running_sandbox(example_world, faults=faults) as sb,
        httpx.Client(timeout=TIMEOUT) as client,
    ):
        response = client.get(
            f"http://127.0.0.1:{sb.ports.rdap}/registry/bz/domain/example-host.bz"
        )
    assert response.status_code == 429
    assert response.headers["retry-after"].isdigit()
    assert response.json()["errorCode"] == 429


def test_faults_can_be_changed_while_running(served: SandboxHandle) -> None:
    url = f"http://127.0.0.1:{served.ports.rdap}/registry/bz/domain/example-host.bz"
    try:
        served.set_faults("rdap", FaultPlan(refuse_share=ALWAYS))
        with httpx.Client(timeout=TIMEOUT) as client, pytest.raises(httpx.TransportError):
            client.get(url)
    finally:
        served.set_faults("rdap", FaultPlan())
    with httpx.Client(timeout=TIMEOUT) as client:
        assert client.get(url).status_code == 200


def test_whois_refuses_and_truncates(example_world: World) -> None:
    with running_sandbox(example_world, faults={"whois": FaultPlan(rate_limit_share=ALWAYS)}) as sb:
        refused = _whois(sb.ports.whois["whois.rir-eu.example"], "127.19.0.10").decode()
        limited = _whois(sb.ports.whois["whois.registry-bz.example"], "example-host.bz").decode()
        sb.set_faults("whois", FaultPlan())
        whole = _whois(sb.ports.whois["whois.registry-bz.example"], "example-host.bz")
        sb.set_faults("whois", FaultPlan(truncate_share=ALWAYS))
        cut = _whois(sb.ports.whois["whois.registry-bz.example"], "example-host.bz")
    assert refused.startswith("%ERROR:201: access denied")
    assert "rate limit" in limited
    assert 0 < len(cut) < len(whole) and whole.startswith(cut)


def test_dns_refuses_truncates_and_times_out(example_world: World) -> None:
    query = dns.message.make_query("files.example-host.bz", "A")
    with running_sandbox(example_world, faults={"dns": FaultPlan(refuse_share=ALWAYS)}) as sb:
        refused = dns.query.udp(query, "127.0.0.1", port=sb.ports.dns, timeout=TIMEOUT)
        sb.set_faults("dns", FaultPlan(truncate_share=ALWAYS))
        truncated = dns.query.udp(query, "127.0.0.1", port=sb.ports.dns, timeout=TIMEOUT)
        over_tcp = dns.query.tcp(query, "127.0.0.1", port=sb.ports.dns, timeout=TIMEOUT)
        sb.set_faults("dns", FaultPlan(timeout_share=ALWAYS))
        with pytest.raises(dns.exception.Timeout):
            dns.query.udp(query, "127.0.0.1", port=sb.ports.dns, timeout=0.3)
    assert refused.rcode() == dns.rcode.REFUSED
    assert truncated.flags & dns.flags.TC and not truncated.answer
    assert over_tcp.answer[0][0].address == "127.16.0.10"


def test_a_delay_slows_answers_but_they_still_come(example_world: World) -> None:
    query = dns.message.make_query("files.example-host.bz", "A")
    with running_sandbox(example_world, faults={"dns": FaultPlan(delay=0.05)}) as sb:
        answer = dns.query.udp(query, "127.0.0.1", port=sb.ports.dns, timeout=TIMEOUT)
    assert answer.answer[0][0].address == "127.16.0.10"


def test_smtp_rate_limit_defers_the_message(example_world: World) -> None:
    with running_sandbox(example_world, faults={"smtp": FaultPlan(rate_limit_share=ALWAYS)}) as sb:
        with (
            smtplib.SMTP("127.0.0.1", sb.ports.smtp, timeout=TIMEOUT) as smtp,
            pytest.raises(smtplib.SMTPDataError) as deferred,
        ):
            smtp.sendmail(
                "notices@hotline.example", ["abuse@hostingbz.example"], "Subject: x\r\n\r\nx"
            )
        assert deferred.value.smtp_code == 421
        assert sb.mailbox("abuse@hostingbz.example") == []


def test_unknown_server_names_are_refused(example_world: World) -> None:
    with (
        pytest.raises(ValueError, match="unknown servers"),
        running_sandbox(example_world, faults={"ftp": FaultPlan()}),
    ):
        pass
