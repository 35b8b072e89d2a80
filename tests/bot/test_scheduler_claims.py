"""The scheduler takes what is due through claims and alone marks what it sent.

Two schedulers on one store (two bots by mistake, or a standby taking over) must not send a
reminder twice; and a reminder that went out is never sent again, whatever the engine recorded.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.clock import ManualClock
from bot.scheduler import Delivery, Scheduler
from flows.model import ConversationKey, Reply
from flows.ports import Store
from flows.records import Conversation, NewCase, NewReminder, Reminder, StepCommit
from storage.factory import open_store

DUE = datetime(2026, 12, 9, 0, 0, tzinfo=UTC)


class Prompts:
    """The engine's side of a reminder: it only marks the reminder sent, nothing on the case."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def reminder_prompt(self, reminder: Reminder) -> Reply:
        return Reply(f"{reminder.case_number}: did they answer?")

    async def reminder_delivered(self, reminder: Reminder) -> bool:
        return await self.store.finish_reminder(reminder.id, "sent")


class BothLooking:
    """The store, holding back every send until both schedulers have looked for due reminders."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.looked = 0
        self.both = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.inner, name)
        if name not in ("claim_reminders", "due_reminders"):
            return found

        async def look(*args: Any, **kwargs: Any) -> Any:
            result = await found(*args, **kwargs)
            self.looked += 1
            if self.looked >= 2:
                self.both.set()
            return result

        return look


async def file_cases(store: Store, count: int) -> None:
    for i in range(count):
        key = ConversationKey("telegram", str(i))
        case = NewCase(
            category="sms",
            problem="spam",
            flow_id="sms",
            flow_version=1,
            language="zh",
            answers={},
            remedies=[],
            created_at=DUE - timedelta(days=15),
            due_at=DUE,
            reminder=NewReminder("deadline", DUE),
        )
        await store.commit(StepCommit(Conversation(key, f"chat-{i}", "zh"), new_case=case))


async def test_two_schedulers_on_one_store_send_each_reminder_once(tmp_path: Path) -> None:
    store = await open_store("", tmp_path / "bot.sqlite3", tmp_path / "data")
    await file_cases(store, 5)
    shared = BothLooking(store)
    sent: Counter[int] = Counter()

    async def deliver(reminder: Reminder, reply: Reply) -> Delivery:
        await asyncio.wait_for(shared.both.wait(), 10)
        sent[reminder.id] += 1
        return Delivery.SENT

    clock = ManualClock(DUE)
    schedulers = [Scheduler(shared, Prompts(store), clock, timezone=UTC) for _ in range(2)]
    try:
        for scheduler in schedulers:
            scheduler.start(deliver, "telegram")
        await asyncio.gather(*(scheduler.settle() for scheduler in schedulers))
        clock.advance(timedelta(hours=1))  # later passes find nothing more to send
        await asyncio.gather(*(scheduler.settle() for scheduler in schedulers))
    finally:
        for scheduler in schedulers:
            await scheduler.stop()
        await store.close()

    assert len(sent) == 5 and set(sent.values()) == {1}
    # Nor does a restart: what went out was recorded as sent.
    store = await open_store("", tmp_path / "bot.sqlite3", tmp_path / "data")
    restarted = Scheduler(store, Prompts(store), clock, timezone=UTC)
    try:
        restarted.start(deliver, "telegram")
        await restarted.settle()
        assert await store.pending_reminders() == []
    finally:
        await restarted.stop()
        await store.close()
    assert len(sent) == 5 and set(sent.values()) == {1}


async def test_a_reminder_whose_pass_failed_goes_out_on_the_next_pass(tmp_path: Path) -> None:
    store = await open_store("", tmp_path / "bot.sqlite3", tmp_path / "data")
    await file_cases(store, 1)
    attempts: list[int] = []

    async def deliver(reminder: Reminder, reply: Reply) -> Delivery:
        attempts.append(reminder.id)
        if len(attempts) == 1:
            raise RuntimeError("the messenger fell over")
        return Delivery.SENT

    clock = ManualClock(DUE)
    scheduler = Scheduler(store, Prompts(store), clock, timezone=UTC)
    try:
        scheduler.start(deliver, "telegram")
        await scheduler.settle()
        assert len(attempts) == 1
        # The loop tries again 30 s after a failed pass; the claim must not hold it back.
        clock.advance(timedelta(seconds=31))
        await scheduler.settle()
        assert len(attempts) == 2
        assert await store.pending_reminders() == []
    finally:
        await scheduler.stop()
        await store.close()
