"""Leader and standbys: several bot processes on one PostgreSQL database, one of them leading.

Only the leader polls its messenger and sends reminders (two pollers on one Telegram token cut
each other off with "Conflict"; two schedulers would race for every reminder). Everything else a
process does, it does whether it leads or not: it keeps the database open, and an HTTP server
(webhooks into the inbox) serves on every process. The seam is `Role`: what a process starts
when it becomes the leader and stops when it no longer is.

The right to lead is the database's leader lock (storage/postgres/leader_lock.py), a session
lock that PostgreSQL drops when the leader's session ends. A standby tries it every `retry`
seconds and, once it holds it, waits `settle` seconds before acting. Why the wait: a leader that
lost its session (the server restarted, an operator ended it) is still running; it checks its
lock every `check` seconds and acts only within `lease` seconds of the start of its last good
check, so it has stopped polling and sending before the new leader starts (`settle` > `lease`).
A process whose own session held the lock all along (it stepped down for a slow check, say)
leads again at once: nobody else can have led meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable
from typing import Protocol, TypeVar

from storage.errors import StorageError

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRY = 1.0  # seconds between a standby's tries of the lock
CHECK = 0.5  # seconds between the leader's checks that its session still holds the lock
LEASE = 1.5  # seconds the leader may act after the start of its last good check
SETTLE = 2.0  # seconds a new leader waits before acting: the old one's lease plus its stop
# How long a standby gives the database to answer a try; only the leader's checks must be quick.
PATIENCE = 5.0


class Lock(Protocol):
    """The database's leader lock, as the leadership loop uses it."""

    name: str

    async def try_acquire(self) -> bool:
        """Take the lock if free; return whether this session holds it (StorageError: no db)."""
        ...

    async def held(self) -> bool:
        """Return whether this session still holds the lock."""
        ...

    async def holder(self) -> str | None:
        """Describe who holds the lock, or None."""
        ...

    async def release(self) -> None:
        """End the session, and with it the lock."""
        ...


class Role(Protocol):
    """What a process does only while it leads: poll its messenger, send reminders."""

    async def lead(self) -> None:
        """Start polling and sending."""
        ...

    async def step_down(self) -> None:
        """Stop polling and sending (what is already in hand may finish)."""
        ...


class Leadership:
    """Lead while this process holds the leader lock; stand by, and retry, while it does not."""

    def __init__(
        self,
        lock: Lock,
        *,
        retry: float = RETRY,
        check: float = CHECK,
        lease: float = LEASE,
        settle: float = SETTLE,
        patience: float = PATIENCE,
    ) -> None:
        if settle <= lease:
            raise ValueError(f"settle: expected more than the lease ({lease} s), got {settle}")
        self.lock = lock
        self.retry, self.check, self.lease, self.settle = retry, check, lease, settle
        self.patience = patience
        self.leading = asyncio.Event()  # set while the role runs here (tests, operators)
        self.terms = 0  # how many times this process became the leader

    async def run(self, role: Role, stopping: asyncio.Event) -> None:
        """Lead `role` whenever this process holds the lock, until `stopping` is set."""
        try:
            while await self._become_leader(stopping):
                self.terms += 1
                log.info("leader: this process leads %s", self.lock.name)
                self.leading.set()
                try:
                    await role.lead()
                    lost = await self._keep(stopping)
                finally:
                    self.leading.clear()
                    await role.step_down()
                if not lost:
                    break
                log.warning(
                    "leader: lost the lock on the database; stopped polling and sending,"
                    " competing again"
                )
                # The standbys, trying every `retry` seconds, go first: a process whose
                # session was cut may well be the one with the bad connection.
                if await _sleep(stopping, self.settle):
                    break
        finally:
            await self.lock.release()

    async def _become_leader(self, stopping: asyncio.Event) -> bool:
        """Wait until this process may lead; False when told to stop first."""
        said_standby = said_unreachable = False
        while not stopping.is_set():
            continuous = await self._within(self.lock.held(), self.patience, False)
            try:
                taken = await self._within(self.lock.try_acquire(), self.patience, False)
            except StorageError as e:
                if not said_unreachable:
                    log.warning("standby: cannot reach the database for the leader lock: %s", e)
                    said_unreachable = True
                taken = False
            if taken:
                if continuous:
                    return True
                # A leader that lost its session may still be acting until its lease runs out.
                if await _sleep(stopping, self.settle):
                    return False
                if await self._within(self.lock.held(), self.patience, False):
                    return True
                continue
            if not said_standby:
                holder = await self._within(self.lock.holder(), self.patience, None)
                log.info(
                    "standby: waiting for the leader (%s held by %s)",
                    self.lock.name,
                    holder or "another process",
                )
                said_standby = True
            if await _sleep(stopping, self.retry):
                return False
        return False

    async def _keep(self, stopping: asyncio.Event) -> bool:
        """Check the lock until it is lost (True) or the process is stopping (False)."""
        last_good = time.monotonic()
        while True:
            remaining = last_good + self.lease - time.monotonic()
            started = time.monotonic()
            if remaining <= 0 or not await self._within(self.lock.held(), remaining, False):
                return True
            last_good = started
            if await _sleep(stopping, self.check):
                return False

    async def _within(self, check: Awaitable[T], seconds: float, timed_out: T) -> T:
        """Await `check` for at most `seconds`; on timeout end the session, return `timed_out`."""
        try:
            return await asyncio.wait_for(check, max(seconds, 0.001))
        except TimeoutError:
            # A session that cannot answer cannot be vouched for: end it, so that another
            # process may lead once the server notices, rather than nobody leading.
            await self.lock.release()
            return timed_out


async def _sleep(stopping: asyncio.Event, seconds: float) -> bool:
    """Sleep `seconds` unless stopping is set first; return whether it is."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), seconds)
    return stopping.is_set()


class Tenure:
    """Run a role for a process that serves HTTP: led at once when it is the only process (no
    lock: SQLite), else in the background whenever it holds the leader lock.

    `task` is the leadership loop (None without a lock): it ends only when stopped, or when the
    role failed to start, which the process treats as fatal (its `wait` returns and raises).
    """

    def __init__(self, role: Role, lock: Lock | None, **timings: float) -> None:
        self.role = role
        self.leadership = Leadership(lock, **timings) if lock is not None else None
        self.leading = self.leadership.leading if self.leadership else asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        """Lead now (no lock), or start competing for the lock in the background."""
        if self.leadership is None:
            await self.role.lead()
            self.leading.set()
            return
        self.task = asyncio.create_task(
            self.leadership.run(self.role, self._stopping), name="leadership"
        )
        self.task.add_done_callback(_log_failure)

    async def stop(self) -> None:
        """Step down (what is in hand is finished) and let go of the lock."""
        if self.leadership is None:
            if self.leading.is_set():
                self.leading.clear()
                await self.role.step_down()
            return
        self._stopping.set()
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)  # logged, and raised by wait


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("leader: could not lead; stopping", exc_info=task.exception())
