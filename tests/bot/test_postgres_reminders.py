"""Two bot processes on one PostgreSQL database: every due reminder goes out exactly once.

The second test is the long version, skipped unless REMINDER_SOAK_MINUTES is set (`make soak`
runs 10): for that many minutes, people keep filing cases while the clock moves three days at a
time, so that reminders fall due all along under both processes' schedulers.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
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


SOAK_MINUTES = float(os.environ.get("REMINDER_SOAK_MINUTES") or 0)


@pytest.mark.skipif(not SOAK_MINUTES, reason="the soak: set REMINDER_SOAK_MINUTES (make soak)")
async def test_two_processes_over_minutes_of_due_reminders(tmp_path: Path, pg_url: str) -> None:
    # Each person files a case every few seconds, far above the flood limit of a real person.
    settings = bot_settings(tmp_path, storage_url=pg_url, telegram_flood_limit="off")
    fake, clock = FakeBotAPI(), ManualClock(FILED_AT)
    app = telegram_application(
        settings, request=fake.make_request(), get_updates_request=fake.make_request(), clock=clock
    )
    sent: Counter[int] = Counter()

    async def deliver(reminder: Reminder, reply: Reply) -> Delivery:
        await asyncio.sleep(0.01)  # a send takes a while: both passes overlap
        sent[reminder.id] += 1
        return Delivery.SENT

    filed = 0
    async with running_application(app, allowed_updates=["message", "callback_query"]):
        first: Scheduler = app.bot_data["services_holder"]["services"].scheduler
        await first.stop()
        second = await Services.open(settings, clock=clock)  # another process, same database
        try:
            first.start(deliver, "telegram")
            second.scheduler.start(deliver, "telegram")
            chats = [Chat(fake, fake.add_user(f"Person{i}")) for i in range(5)]
            ends = time.monotonic() + SOAK_MINUTES * 60
            while time.monotonic() < ends:
                chat = chats[filed % len(chats)]
                await walk_sms_to_evidence(chat)
                await file_sms(chat, evidence="跳过")
                filed += 1
                clock.advance(timedelta(days=3))  # earlier cases' deadlines pass meanwhile
            during = len(sent)
            clock.advance(timedelta(days=60))  # every deadline passed
            await asyncio.wait_for(asyncio.gather(first.settle(), second.scheduler.settle()), 60)
            await second.scheduler.stop()
        finally:
            await second.close()

    with psycopg.connect(pg_url) as conn:
        done = {row[0] for row in conn.execute("SELECT id FROM reminders WHERE status = 'sent'")}
        pending = conn.execute("SELECT count(*) FROM reminders WHERE status = 'pending'")
        left = pending.fetchone()
    print(
        f"reminder soak: {filed} cases filed in {SOAK_MINUTES} min, {len(sent)} reminders sent"
        f" ({during} while cases were being filed)"
    )
    assert filed > 0 and len(sent) >= filed
    assert [rid for rid, times in sent.items() if times > 1] == []
    assert set(sent) == done
    assert left == (0,)
