"""Due reminders of different people are on their way together, not one round trip at a time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from fake_telegram import FakeBotAPI, running_application
from telegram_chat import Chat, bot_settings, file_sms, walk_sms_to_evidence

from bot.app import telegram_application
from bot.clock import ManualClock
from bot.scheduler import Delivery, Scheduler
from flows.model import Reply
from flows.records import Reminder

FILED_AT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
ASKED_AT = datetime(2026, 12, 9, 0, 0, tzinfo=UTC)  # both deadlines passed, 08:00 in Shanghai


async def test_reminders_of_two_people_are_sent_at_the_same_time(tmp_path: Path) -> None:
    fake, clock = FakeBotAPI(), ManualClock(FILED_AT)
    app = telegram_application(
        bot_settings(tmp_path),
        request=fake.make_request(),
        get_updates_request=fake.make_request(),
        clock=clock,
    )
    in_flight: set[str] = set()
    both = asyncio.Event()

    async def slow_deliver(reminder: Reminder, reply: Reply) -> Delivery:
        # Returns only once the other person's reminder is on its way too: sending one at a
        # time would wait here forever.
        in_flight.add(reminder.key.user_id)
        if len(in_flight) == 2:
            both.set()
        await both.wait()
        return Delivery.SENT

    async with running_application(app, allowed_updates=["message", "callback_query"]):
        for name in ("Alice", "Bob"):
            chat = Chat(fake, fake.add_user(name))
            await walk_sms_to_evidence(chat)
            await file_sms(chat, evidence="跳过")
        scheduler: Scheduler = app.bot_data["services_holder"]["services"].scheduler
        await scheduler.stop()
        scheduler.start(slow_deliver, "telegram")
        clock.set(ASKED_AT)
        await asyncio.wait_for(scheduler.settle(), 10)

    assert len(in_flight) == 2
