"""Two bot processes on one PostgreSQL database: every due reminder goes out exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from fake_telegram import FakeBotAPI, running_application
from telegram_chat import Chat, bot_settings, file_sms, walk_sms_to_evidence

from bot.app import Services, telegram_application
from bot.clock import ManualClock
from bot.scheduler import Delivery, Scheduler
from flows.model import Reply
from flows.records import Reminder

FILED_AT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
ASKED_AT = datetime(2026, 12, 9, 0, 0, tzinfo=UTC)  # every deadline passed, 08:00 in Shanghai


async def test_two_processes_send_each_due_reminder_once(tmp_path: Path, pg_url: str) -> None:
    settings = bot_settings(tmp_path, storage_url=pg_url)
    fake, clock = FakeBotAPI(), ManualClock(FILED_AT)
    app = telegram_application(
        settings, request=fake.make_request(), get_updates_request=fake.make_request(), clock=clock
    )
    sent: Counter[str] = Counter()

    async def deliver(reminder: Reminder, reply: Reply) -> Delivery:
        # Slow enough that both processes' passes overlap: without a claim, both would find
        # the same reminders due and both would send them.
        await asyncio.sleep(0.05)
        sent[reminder.case_number] += 1
        return Delivery.SENT

    numbers = []
    async with running_application(app, allowed_updates=["message", "callback_query"]):
        for name in ("Alice", "Bob", "Carol", "Dan", "Erin", "Frank"):
            chat = Chat(fake, fake.add_user(name))
            await walk_sms_to_evidence(chat)
            numbers.append((await file_sms(chat, evidence="跳过"))[0])
        first: Scheduler = app.bot_data["services_holder"]["services"].scheduler
        await first.stop()
        second = await Services.open(settings, clock=clock)  # another process, same database
        try:
            first.start(deliver, "telegram")
            second.scheduler.start(deliver, "telegram")
            clock.set(ASKED_AT)
            await asyncio.wait_for(asyncio.gather(first.settle(), second.scheduler.settle()), 20)
            await second.scheduler.stop()
        finally:
            await second.close()

    assert sent == Counter(dict.fromkeys(numbers, 1))
