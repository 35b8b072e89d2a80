"""Sending through our rate limiter stays under Telegram's 30 messages/s in every second."""

from __future__ import annotations

import asyncio

from fake_telegram import FakeBotAPI
from telegram.ext import ExtBot

from bot.messengers.telegram import rate_limiter


async def test_a_burst_of_messages_gets_no_429() -> None:
    fake = FakeBotAPI()
    people = [fake.add_user(f"p{i}") for i in range(40)]
    fake.set_rate_limit(30)  # 429 with retry_after once 30 arrived within one second
    bot = ExtBot(
        fake.token,
        request=fake.make_request(),
        get_updates_request=fake.make_request(),
        rate_limiter=rate_limiter(),
    )
    async with bot:
        await asyncio.gather(*(bot.send_message(p.id, "reminder") for p in people))

    sends = fake.calls("sendMessage")
    assert [call.status for call in sends] == [200] * len(people)


async def test_four_workers_sending_at_once_stay_under_the_limit_together() -> None:
    # Each of telegram.workers processes has its own limiter: each must take only its share.
    fake = FakeBotAPI()
    people = [fake.add_user(f"p{i}") for i in range(40)]
    fake.set_rate_limit(30)
    bots = [
        ExtBot(
            fake.token,
            request=fake.make_request(),
            get_updates_request=fake.make_request(),
            rate_limiter=rate_limiter(workers=4),
        )
        for _ in range(4)
    ]
    for bot in bots:
        await bot.initialize()
    try:
        await asyncio.gather(
            *(bots[i % 4].send_message(p.id, "reminder") for i, p in enumerate(people))
        )
    finally:
        for bot in bots:
            await bot.shutdown()

    sends = fake.calls("sendMessage")
    assert [call.status for call in sends] == [200] * len(people)
