"""Clocks: the manual clock wakes sleepers when moved; both return early on the wake event."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import Clock, ManualClock, SystemClock

START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


async def settle() -> None:
    """Let every task that can run, run."""
    for _ in range(10):
        await asyncio.sleep(0)


async def test_a_manual_sleeper_wakes_when_the_clock_reaches_its_time_not_before() -> None:
    clock = ManualClock(START)
    sleeper = asyncio.create_task(clock.sleep_until(START + timedelta(days=15), asyncio.Event()))
    await settle()
    clock.advance(timedelta(days=14, hours=23))
    await settle()
    assert not sleeper.done()
    clock.advance(timedelta(hours=1))
    await settle()
    assert sleeper.done()
    await sleeper


async def test_moving_the_clock_wakes_only_the_sleepers_it_reached() -> None:
    clock = ManualClock(START)
    early, late = (
        asyncio.create_task(clock.sleep_until(START + timedelta(minutes=m), asyncio.Event()))
        for m in (5, 60)
    )
    await settle()
    clock.set(START + timedelta(minutes=30))
    await settle()
    assert early.done() and not late.done()
    assert clock.now() == START + timedelta(minutes=30)
    clock.set(START + timedelta(hours=2))
    await asyncio.gather(early, late)


async def test_the_wake_event_ends_a_manual_sleep_early() -> None:
    clock = ManualClock(START)
    wake = asyncio.Event()
    sleeper = asyncio.create_task(clock.sleep_until(START + timedelta(days=1), wake))
    await settle()
    assert not sleeper.done()
    wake.set()
    await settle()
    assert sleeper.done()
    await sleeper
    assert clock.now() == START


@pytest.mark.parametrize("clock", [ManualClock(START), SystemClock()], ids=["manual", "system"])
async def test_a_past_time_or_a_set_event_returns_at_once(clock: Clock) -> None:
    never = asyncio.Event()
    await asyncio.wait_for(clock.sleep_until(clock.now() - timedelta(hours=1), never), 1)
    await asyncio.wait_for(clock.sleep_until(clock.now(), never), 1)
    woken = asyncio.Event()
    woken.set()
    await asyncio.wait_for(clock.sleep_until(clock.now() + timedelta(days=1), woken), 1)


async def test_the_system_clock_wakes_on_the_event() -> None:
    clock, wake = SystemClock(), asyncio.Event()
    sleeper = asyncio.create_task(clock.sleep_until(clock.now() + timedelta(days=1), wake))
    await settle()
    wake.set()
    await asyncio.wait_for(sleeper, 1)


async def test_a_cancelled_manual_sleep_leaves_nothing_behind() -> None:
    clock = ManualClock(START)
    sleeper = asyncio.create_task(clock.sleep_until(START + timedelta(hours=1), asyncio.Event()))
    await settle()
    sleeper.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sleeper
    clock.advance(timedelta(hours=2))  # nothing left to wake
    await settle()
    assert asyncio.all_tasks() == {asyncio.current_task()}


@pytest.mark.parametrize("clock", [SystemClock(), ManualClock(START)], ids=["system", "manual"])
async def test_a_sleep_cancelled_as_it_is_woken_is_cancelled(clock: Clock) -> None:
    # The scheduler is stopped right after a deadline was written (and woke it): the stop must
    # end the sleep, not be lost to the wake-up (asyncio.wait_for on 3.11 swallowed it).
    wake = asyncio.Event()
    task = asyncio.create_task(clock.sleep_until(clock.now() + timedelta(minutes=5), wake))
    await asyncio.sleep(0.01)
    wake.set()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_clocks_tell_aware_utc_time() -> None:
    assert SystemClock().now().tzinfo is UTC
    shanghai_ten = datetime.fromisoformat("2026-11-23T10:00:00+08:00")
    assert ManualClock(shanghai_ten).now() == START
    assert ManualClock(shanghai_ten).now().tzinfo is UTC
    with pytest.raises(ValueError, match="expected an aware datetime"):
        ManualClock(datetime(2026, 11, 23, 10, 0))
