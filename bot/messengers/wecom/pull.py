"""One pull loop per customer-service account: woken by a callback, or by a safety timer.

Single-flight: a callback arriving while a pull runs only asks for one more pull after it, so
two pulls of one account never race over its cursor. A lost callback is made up for by the
safety pull every `interval`. A pull that failed is tried again sooner, 2 s then doubling to a
minute: WeCom refuses more than about 10 pulls a minute made without a callback token (45009),
and the first pull after a start has none unless one kept from before the restart is still good
(the messenger's `pull`), so the messages written meanwhile would otherwise wait for the
person's next message or the next safety pull.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.clock import Clock

log = logging.getLogger(__name__)

Pull = Callable[[str, str | None], Awaitable[None]]

RETRY_FIRST = timedelta(seconds=2)  # after a failed pull; doubled after each failure
RETRY_MOST = timedelta(seconds=60)


class PullLoop:
    """Run `pull(open_kfid, token)` when woken, and at least every `interval`."""

    def __init__(self, open_kfid: str, pull: Pull, clock: Clock, interval: timedelta) -> None:
        self.open_kfid = open_kfid
        self._pull = pull
        self.clock = clock
        self.interval = interval
        self._wake = asyncio.Event()
        self._token: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._passes = 0  # passes ended
        self._started = 0  # passes begun
        self._ok = 0  # the number of the last pass that pulled everything (by when it began)
        self._failed = 0  # passes that failed
        self._busy = False
        self._done = asyncio.Condition()
        self._retry: timedelta | None = None  # set while pulls fail

    @property
    def failed(self) -> int:
        """How many pulls failed since the start."""
        return self._failed

    def wake(self, token: str | None) -> None:
        """Ask for a pull soon (a callback's token lets it skip the strict rate limit)."""
        if token:
            self._token = token
        self._wake.set()

    def start(self) -> None:
        """Start pulling in the background (a first pull at once)."""
        if self._task is None:
            self._wake.set()
            self._task = asyncio.create_task(self._loop(), name=f"wecom-pull-{self.open_kfid}")

    async def stop(self) -> None:
        """Stop the loop; a pull in progress is cancelled (its messages are pulled again)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            async with self._done:  # nobody waits for a pull that will not come
                self._done.notify_all()

    async def settle(self) -> None:
        """Wait until a pull has run after this call and nothing more is asked (for tests)."""
        async with self._done:
            # A pass under way may have read the cursor before this call: wait for the next.
            target = self._passes + (2 if self._busy else 1)
            self._wake.set()
            await self._done.wait_for(
                lambda: self._passes >= target and not self._wake.is_set() and not self._busy
            )

    async def caught_up(self, tries: int = 5) -> None:
        """Wait until the pull asked for (at the start, by a callback, or again after a failed
        one) has pulled everything.

        Returns at once when nothing is asked for (or the loop is not running). A pull asked
        for while one runs is the next one. Gives up after `tries` failed pulls (about a
        minute of retries: longer than WeCom refuses pulls after quick restarts).
        """
        if self._task is None:
            return
        async with self._done:
            # Asked for: by a callback or the start (woken), or a failed pull's retry.
            if not (self._busy or self._wake.is_set() or self._retry is not None):
                return
            need = self._started + (0 if self._busy and not self._wake.is_set() else 1)
            failed = self._failed
            await self._done.wait_for(
                lambda: self._ok >= need or self._failed - failed >= tries or self._task is None
            )

    async def _loop(self) -> None:
        while True:
            wait = self.interval if self._retry is None else min(self._retry, self.interval)
            await self.clock.sleep_until(self.clock.now() + wait, self._wake)
            self._wake.clear()
            token, self._token = self._token, None
            self._busy = True
            self._started += 1
            number = self._started
            try:
                await self._pull(self.open_kfid, token)
                self._retry = None
                self._ok = number
            except Exception:
                self._failed += 1
                self._retry = RETRY_FIRST if self._retry is None else self._retry * 2
                self._retry = min(self._retry, RETRY_MOST)
                log.exception(
                    "pulling account %s failed; trying again in %d s",
                    self.open_kfid,
                    min(self._retry, self.interval).total_seconds(),
                )
            finally:
                self._busy = False
                async with self._done:
                    self._passes += 1
                    self._done.notify_all()
