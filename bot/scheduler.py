"""The reminder loop: sleep until the next due row, send what is due, survive restarts.

Reminders are rows in the store, not jobs in memory, so a restart loses none: what fell due
while the bot was down is sent when it starts. The scheduler claims what is due, and alone ends
each reminder it claimed (sent, undeliverable, failed, cancelled) or puts it off; the engine
schedules and cancels them with the case's own writes (see `flows.ports.ReminderStore`). A
reminder is marked sent right after it went out and the case recorded it; a crash in between
sends it again (the only way a reminder is repeated).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, tzinfo
from typing import Protocol

from bot.clock import Clock
from bot.deadlines import QuietHours
from bot.messengers.base import Delivery
from flows.model import ConversationKey, Reply
from flows.ports import Audience, ReminderStore
from flows.records import Reminder

log = logging.getLogger(__name__)

MAX_SLEEP = timedelta(minutes=5)  # look again at least this often, whatever was written
# What is due after a pass was claimed by another sender: look again this long after, not at
# once and over and over (a reminder written meanwhile wakes the loop through `notice`).
RECHECK = timedelta(seconds=5)
BATCH = 100
MAX_ATTEMPTS = 8  # transient failures (network, Telegram errors) before giving up on one
# Reminders on their way at once. The rate limiter sets the pace (under 30/s); sending one at a
# time would instead be paced by the round trip to Telegram: 50-200 ms, so 5-20 a second.
IN_FLIGHT = 16
# How long a claim keeps other senders off a reminder; far longer than a send, short enough
# that a reminder claimed by a process that died goes out soon after.
LEASE = timedelta(minutes=5)


Deliver = Callable[[Reminder, Reply], Awaitable[Delivery]]


class Prompter(Protocol):
    """What a due reminder says, and the record that it reached its person (the engine)."""

    async def reminder_prompt(self, reminder: Reminder) -> Reply | None:
        """Return what the reminder asks, or None when it no longer applies."""
        ...

    async def reminder_delivered(self, reminder: Reminder) -> bool:
        """Mark the reminder sent with its record on the case; False if it had been already."""
        ...


class Scheduler:
    """Send due reminders through a messenger, outside quiet hours, one pass at a time."""

    def __init__(
        self,
        store: ReminderStore,
        engine: Prompter,
        clock: Clock,
        *,
        timezone: tzinfo,
        quiet: QuietHours | None = None,
    ) -> None:
        self.store = store
        self.engine = engine
        self.clock = clock
        self.timezone = timezone
        self.quiet = quiet
        self._deliver: Deliver | None = None
        self._audience: Audience = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._passes = 0
        self._in_pass = False
        self._pass_done = asyncio.Condition()

    def notice(self, due_at: datetime) -> None:
        """Wake the loop: a deadline was just written and may be nearer than its alarm."""
        self._wake.set()

    def start(self, deliver: Deliver, audience: Audience) -> None:
        """Start the loop in the background, sending the reminders of `audience`.

        The audience is a messenger ("telegram": everyone on it) or one person (a console
        session), so two bots sharing a database never take each other's reminders.
        """
        self._deliver = deliver
        self._audience = audience
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="reminder-scheduler")

    async def stop(self) -> None:
        """Stop the loop (a send in progress is cancelled; it stays pending)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def settle(self) -> None:
        """Wake the loop and wait until a whole pass has run after this call (for tests)."""
        async with self._pass_done:
            target = self._passes + (2 if self._in_pass else 1)
            self._wake.set()
            await self._pass_done.wait_for(lambda: self._passes >= target)

    async def run_due(self) -> int:
        """Send every reminder due now, unless it is quiet hours; return how many were sent."""
        deliver = self._deliver
        if deliver is None:
            raise RuntimeError("the scheduler was not started with a messenger")
        sent = 0
        while True:
            now = self.clock.now()
            if self._quiet_until(now) > now:
                return sent
            due = await self.store.claim_reminders(now, BATCH, audience=self._audience, lease=LEASE)
            sent += await self._send_all(due, deliver)
            if len(due) < BATCH:
                return sent

    async def _send_all(self, due: list[Reminder], deliver: Deliver) -> int:
        """Send a batch, IN_FLIGHT at a time; one person's reminders one after another."""
        people: dict[ConversationKey, list[Reminder]] = {}
        for reminder in due:  # earliest first, and so stays each person's list
            people.setdefault(reminder.key, []).append(reminder)
        slots = asyncio.Semaphore(IN_FLIGHT)

        async def send_theirs(theirs: list[Reminder]) -> int:
            async with slots:
                return sum([await self._send(reminder, deliver) for reminder in theirs])

        try:
            results = await asyncio.gather(
                *(send_theirs(theirs) for theirs in people.values()), return_exceptions=True
            )
            # The others went out and were recorded; a failure ends the pass as it always did.
            for result in results:
                if isinstance(result, BaseException):
                    raise result
        except BaseException:
            # Stopped, or the pass failed: what was claimed and not ended is due again now, not
            # when the claim runs out (releasing one that ended changes nothing).
            for reminder in due:
                with contextlib.suppress(Exception):
                    await self.store.release_reminder(reminder.id)
            raise
        return sum(result for result in results if isinstance(result, int))

    async def _send(self, reminder: Reminder, deliver: Deliver) -> int:
        if reminder.unreachable:
            await self.store.finish_reminder(reminder.id, "undeliverable")
            return 0
        reply = await self.engine.reminder_prompt(reminder)
        if reply is None:  # the case moved on (resolved, closed) without this being cancelled
            await self.store.finish_reminder(reminder.id, "cancelled")
            return 0
        result = await deliver(reminder, reply)
        if result is Delivery.SENT:
            # One transaction: a crash before it sends the reminder again, never records it twice.
            await self.engine.reminder_delivered(reminder)
            return 1
        if result is Delivery.DEFERRED:
            log.info("reminder %s: deferred to the person's next message", reminder.id)
            return 0
        if result is Delivery.UNREACHABLE:
            log.info("reminder %s: the person blocked the bot; not retried", reminder.id)
            await self.store.set_unreachable(reminder.key, True)
            await self.store.finish_reminder(reminder.id, "undeliverable")
        elif reminder.attempts + 1 >= MAX_ATTEMPTS:
            log.warning("reminder %s: giving up after %s attempts", reminder.id, MAX_ATTEMPTS)
            await self.store.finish_reminder(reminder.id, "failed")
        else:
            backoff = timedelta(seconds=min(30 * 2**reminder.attempts, 3600))
            await self.store.retry_reminder(reminder.id, self.clock.now() + backoff)
        return 0

    def _quiet_until(self, moment: datetime) -> datetime:
        if self.quiet is None:
            return moment
        return self.quiet.next_allowed(moment, self.timezone)

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            self._in_pass = True
            try:
                await self.run_due()
                wake_at = await self._next_wake()
            except Exception:
                log.exception("the reminder loop failed a pass; trying again shortly")
                wake_at = self.clock.now() + timedelta(seconds=30)
            finally:
                self._in_pass = False
                async with self._pass_done:
                    self._passes += 1
                    self._pass_done.notify_all()
            await self.clock.sleep_until(wake_at, self._wake)

    async def _next_wake(self) -> datetime:
        now = self.clock.now()
        wake_at = now + MAX_SLEEP
        next_due = await self.store.next_due_at(audience=self._audience)
        if next_due is not None:
            wake_at = min(wake_at, max(next_due, now + RECHECK))
        return self._quiet_until(wake_at)
