"""The probe's FIFO limiter: places handed out in arrival order, never more than the limit."""

from __future__ import annotations

import asyncio

import pytest

from hosting.common.slots import Slots


def test_waiters_get_places_in_arrival_order_and_never_more_than_the_limit() -> None:
    async def main() -> list[int]:
        slots = Slots(2)
        order: list[int] = []
        holding = 0
        most = 0

        async def one(i: int) -> None:
            nonlocal holding, most
            async with slots:
                holding += 1
                most = max(most, holding)
                order.append(i)
                await asyncio.sleep(0)
                holding -= 1

        await asyncio.gather(*(one(i) for i in range(50)))
        assert most == 2
        return order

    assert asyncio.run(main()) == list(range(50))


def test_a_cancelled_waiter_leaves_the_line_and_loses_no_place() -> None:
    async def main() -> None:
        slots = Slots(1)
        await slots.acquire()
        waiting = asyncio.ensure_future(slots.acquire())
        behind = asyncio.ensure_future(slots.acquire())
        await asyncio.sleep(0)
        waiting.cancel()
        slots.release()  # skips the cancelled waiter, goes to the one behind it
        await behind
        slots.release()
        async with asyncio.timeout(1):
            await slots.acquire()  # the place came back: nobody holds it

    asyncio.run(main())


def test_a_place_handed_to_a_waiter_cancelled_meanwhile_is_passed_on() -> None:
    async def main() -> None:
        slots = Slots(1)
        await slots.acquire()
        first = asyncio.ensure_future(slots.acquire())
        await asyncio.sleep(0)
        slots.release()  # first is handed the place ...
        first.cancel()  # ... and cancelled before it runs
        with pytest.raises(asyncio.CancelledError):
            await first
        async with asyncio.timeout(1):
            await slots.acquire()

    asyncio.run(main())
