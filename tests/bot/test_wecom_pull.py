"""The pull loop: a failed pull is tried again within seconds, not at the next safety pull."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.clock import ManualClock
from bot.messengers.wecom.pull import RETRY_FIRST, RETRY_MOST, PullLoop

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
INTERVAL = timedelta(minutes=5)


class Pulls:
    """A pull that fails while told to (WeCom's 45009 after quick restarts), counting calls."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self.changed = asyncio.Event()

    async def __call__(self, open_kfid: str, token: str | None) -> None:
        self.calls += 1
        self.changed.set()
        if self.calls <= self.failures:
            raise RuntimeError("api freq out of limit (45009)")


async def _calls_after(clock: ManualClock, pulls: Pulls, step: timedelta) -> int:
    """Move the clock by `step` and return the number of pulls once the loop has had its turn."""
    pulls.changed.clear()
    clock.set(clock.now() + step)
    for _ in range(50):  # the loop runs on this event loop: give it its turns
        await asyncio.sleep(0)
    return pulls.calls


async def test_a_failed_pull_is_tried_again_within_seconds_then_less_often() -> None:
    clock = ManualClock(START)
    pulls = Pulls(failures=3)
    loop = PullLoop("wk-1", pulls, clock, INTERVAL)
    loop.start()
    try:
        await asyncio.wait_for(pulls.changed.wait(), 5)
        assert pulls.calls == 1  # the first pull at start, refused
        assert await _calls_after(clock, pulls, RETRY_FIRST - timedelta(seconds=1)) == 1
        assert await _calls_after(clock, pulls, timedelta(seconds=1)) == 2  # 2 s later
        assert await _calls_after(clock, pulls, RETRY_FIRST * 2) == 3  # then 4 s
        assert await _calls_after(clock, pulls, RETRY_FIRST * 4) == 4  # then 8 s: it worked
        # Once a pull works, the loop is back to its safety interval.
        assert await _calls_after(clock, pulls, RETRY_MOST) == 4
        assert await _calls_after(clock, pulls, INTERVAL) == 5
    finally:
        await loop.stop()


async def test_retries_never_come_more_often_than_once_a_minute_at_worst() -> None:
    clock = ManualClock(START)
    pulls = Pulls(failures=100)
    loop = PullLoop("wk-1", pulls, clock, INTERVAL)
    loop.start()
    try:
        await asyncio.wait_for(pulls.changed.wait(), 5)
        for _ in range(10):
            await _calls_after(clock, pulls, RETRY_MOST)
        before = pulls.calls
        assert await _calls_after(clock, pulls, RETRY_MOST - timedelta(seconds=1)) == before
        assert await _calls_after(clock, pulls, timedelta(seconds=1)) == before + 1
    finally:
        await loop.stop()
