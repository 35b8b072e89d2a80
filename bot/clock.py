"""Time for the reminder loop: the system clock, or a manual one that tests move by hand."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What the scheduler needs from time: the current moment, and a sleep that can be cut short."""

    def now(self) -> datetime:
        """Return the current moment, aware, in UTC."""
        ...

    async def sleep_until(self, when: datetime, wake: asyncio.Event) -> None:
        """Return at `when`, or earlier once `wake` is set; at once if `when` has passed."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime, wake: asyncio.Event) -> None:
        timeout = (when - self.now()).total_seconds()
        if timeout <= 0 or wake.is_set():
            return
        # Not asyncio.wait_for: on Python 3.11 it swallows a cancellation that arrives just as
        # `wake` is set (the scheduler's stop then waited out a whole sleep). asyncio.timeout
        # passes the cancellation on.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await wake.wait()


class ManualClock:
    """A clock that stands still until told to move; moving it wakes the sleepers it reached."""

    def __init__(self, start: datetime) -> None:
        self._now = _aware_utc(start)
        self._alarms: list[tuple[datetime, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        """Move the clock to `moment` and wake every sleeper whose time has come."""
        self._now = _aware_utc(moment)
        for when, alarm in self._alarms:
            if when <= self._now and not alarm.done():
                alarm.set_result(None)

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by `delta`."""
        self.set(self._now + delta)

    async def sleep_until(self, when: datetime, wake: asyncio.Event) -> None:
        if when <= self._now or wake.is_set():
            return
        alarm: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (when, alarm)
        self._alarms.append(entry)
        woken = asyncio.ensure_future(wake.wait())
        try:
            await asyncio.wait((alarm, woken), return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._alarms.remove(entry)
            alarm.cancel()
            if woken.cancel():
                # Let the waiter finish here, so no pending task outlives the sleep.
                await asyncio.wait((woken,))


def _aware_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"expected an aware datetime, got {moment!r}")
    return moment.astimezone(UTC)
