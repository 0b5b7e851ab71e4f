"""Rate limits, concurrency caps and retry backoff, on a fake clock."""

from __future__ import annotations

import asyncio
import random

import pytest

from hosting.common.errors import NotFound, SourceTimeout
from hosting.common.limits import Limits, RateLimit, RetryPolicy, ServerPolicy
from hosting.common.politeness import ServerGate, ServerGates, with_retries


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_lacnic_budget_spaces_queries_six_seconds_apart_after_the_burst() -> None:
    clock = FakeClock()
    policy = Limits().for_server("rdap.lacnic.net")
    assert policy.rate == RateLimit(10, 60, burst=2)

    async def run() -> None:
        gate = ServerGate(policy, clock, clock.sleep)
        for _ in range(5):
            await gate.run(lambda: asyncio.sleep(0))

    asyncio.run(run())
    # Two queries from the burst, then one every 6 s: 10 a minute.
    assert clock.now == pytest.approx(18.0)


def test_concurrency_cap_is_never_exceeded() -> None:
    running = 0
    peak = 0

    async def work() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001)
        running -= 1

    async def run() -> None:
        gate = ServerGate(ServerPolicy(concurrency=2, rate=RateLimit(1e6, 1, burst=1000)))
        await asyncio.gather(*(gate.run(work) for _ in range(10)))

    asyncio.run(run())
    assert peak == 2


def test_gates_are_shared_per_server_name() -> None:
    async def run() -> None:
        gates = ServerGates(Limits())
        assert gates.for_server("WHOIS.RIPE.NET") is gates.for_server("whois.ripe.net")
        assert gates.for_server("a.example") is not gates.for_server("b.example")

    asyncio.run(run())


def test_two_names_for_one_server_share_its_gate_under_the_stricter_policy() -> None:
    strict = ServerPolicy(concurrency=1, rate=RateLimit(10, 60, burst=2))
    loose = ServerPolicy(concurrency=8, rate=RateLimit(1e6, 1, burst=1000))
    limits = Limits(servers={"whois.strict.example": strict}, default_server=loose)

    async def run() -> None:
        gates = ServerGates(limits)
        first = gates.for_server("192.0.2.7", 43, names=("whois.loose.example",))
        assert first.policy == loose
        second = gates.for_server("192.0.2.7", 43, names=("whois.strict.example",))
        assert second is first
        assert first.policy.concurrency == 1
        assert first.policy.rate.per_second == pytest.approx(10 / 60)
        assert first.policy.rate.burst == 2
        # Another port of the same host is another server.
        assert gates.for_server("192.0.2.7", 4343) is not first

    asyncio.run(run())


def test_a_name_with_several_addresses_keeps_its_cap_across_them() -> None:
    unhurried = RateLimit(1e6, 1, burst=1000)
    limits = Limits(
        servers={"whois.multi.example": ServerPolicy(concurrency=2, rate=unhurried)},
        default_server=ServerPolicy(concurrency=8, rate=unhurried),
    )
    running = 0
    peak = 0

    async def work() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001)
        running -= 1

    async def run() -> None:
        gates = ServerGates(limits)

        async def one(address: str) -> None:
            async with gates.admission(address, 43, name="whois.multi.example"):
                await work()

        await asyncio.gather(*(one(f"192.0.2.{1 + i % 3}") for i in range(12)))

    asyncio.run(run())
    assert peak == 2


def test_a_waiter_cancelled_while_queued_gives_no_slot_away() -> None:
    async def run() -> None:
        gate = ServerGate(ServerPolicy(concurrency=1, rate=RateLimit(1e6, 1, burst=1000)))
        release = asyncio.Event()

        async def hold() -> None:
            async with gate:
                await release.wait()

        holder = asyncio.ensure_future(hold())
        await asyncio.sleep(0)
        queued = asyncio.ensure_future(gate.run(lambda: asyncio.sleep(0)))
        await asyncio.sleep(0)
        queued.cancel()
        release.set()
        await holder
        with pytest.raises(asyncio.CancelledError):
            await queued
        assert gate.active == 0
        await gate.run(lambda: asyncio.sleep(0))  # the slot is free again
        assert gate.active == 0

    asyncio.run(run())


def test_retries_back_off_with_jitter_and_stop() -> None:
    clock = FakeClock()
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        raise SourceTimeout("no answer")

    policy = RetryPolicy(attempts=4, base_delay=1, max_delay=3, jitter=0.5)
    with pytest.raises(SourceTimeout):
        asyncio.run(with_retries(flaky, policy, rng=random.Random(7), sleep=clock.sleep))
    assert calls == 4
    assert len(clock.sleeps) == 3
    for pause, base in zip(clock.sleeps, [1, 2, 3], strict=True):
        assert base * 0.5 <= pause <= base


def test_answers_that_are_not_transient_are_not_retried() -> None:
    calls = 0

    async def missing() -> str:
        nonlocal calls
        calls += 1
        raise NotFound("no such domain")

    with pytest.raises(NotFound):
        asyncio.run(with_retries(missing, RetryPolicy(attempts=5)))
    assert calls == 1
