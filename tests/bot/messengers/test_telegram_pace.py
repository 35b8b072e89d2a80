"""Workers share Telegram's ~30 messages a second through the pace in PostgreSQL.

Two bots stand for two worker processes of one Telegram bot: each its own PTB bot with the
limiter `complaint-bot run` gives a worker (bot/messengers/telegram_pace.py), its own session
on one real database. The fake Bot API answers 429 once more than 30 messages arrive within a
second, as Telegram does. Sending together, they must stay under it; once one stops (idle,
then dead), the other must send faster than the half a fixed split would leave it.
"""

from __future__ import annotations

import asyncio

import psycopg
from fake_telegram import FakeBotAPI
from fake_telegram._records import ApiCall
from pg_server import make_postgres_store
from telegram.ext import ExtBot

from bot.messengers.telegram import OVERALL_RATE, rate_limiter
from storage.postgres.send_pace import AHEAD, SendPace

TELEGRAM_LIMIT = 30  # messages a second, the fake's 429 threshold as Telegram's
HALF = OVERALL_RATE / 2 + 1  # the most one of two workers sent in a second at a fixed share


def worker_bot(fake: FakeBotAPI, url: str) -> ExtBot[None]:
    """Return one worker's bot: telegram.workers 2, pacing its sends in the database `url`."""
    pace = SendPace(url, fake.token.split(":")[0], OVERALL_RATE)
    return ExtBot(
        fake.token,
        request=fake.make_request(),
        get_updates_request=fake.make_request(),
        rate_limiter=rate_limiter(workers=2, pace=pace),
    )


def densest_second(calls: list[ApiCall]) -> int:
    """Return the most of `calls` that reached the fake within any one second."""
    times = sorted(call.at for call in calls)
    return max(
        (sum(1 for t in times[i:] if t - start < 1.0) for i, start in enumerate(times)), default=0
    )


async def send(bot: ExtBot[None], people: list[int], text: str) -> None:
    await asyncio.gather(*(bot.send_message(person, text) for person in people))


async def test_two_workers_stay_under_the_limit_together_and_one_alone_gets_all_of_it(
    pg_url: str,
) -> None:
    await (await make_postgres_store(pg_url)).close()  # the database, migrated
    fake = FakeBotAPI()
    people = [fake.add_user(f"p{i}").id for i in range(30)]
    fake.set_rate_limit(TELEGRAM_LIMIT)
    a, b = worker_bot(fake, pg_url), worker_bot(fake, pg_url)
    await a.initialize()
    await b.initialize()
    try:
        await asyncio.gather(send(a, people, "both"), send(b, people, "both"))
        both = fake.calls("sendMessage")
        assert [call.status for call in both] == [200] * 60, "Telegram refused some"
        assert densest_second(both) <= TELEGRAM_LIMIT

        await send(a, people, "b idle")
        idle = fake.calls("sendMessage")[60:]
        assert [call.status for call in idle] == [200] * 30
        assert densest_second(idle) > HALF, "a kept half the budget while b was idle"

        await b.shutdown()  # b's process ends, and its session with it
        await send(a, people, "b dead")
        dead = fake.calls("sendMessage")[90:]
        assert [call.status for call in dead] == [200] * 30
        assert densest_second(dead) > HALF, "a kept half the budget after b died"
    finally:
        await a.shutdown()
        await b.shutdown()


async def test_without_the_database_a_worker_still_sends_at_its_share() -> None:
    fake = FakeBotAPI()
    people = [fake.add_user(f"p{i}").id for i in range(3)]
    # Nothing listens on port 1: every reservation fails at once.
    bot = worker_bot(fake, "postgresql://bot@127.0.0.1:1/bot")
    async with bot:
        await send(bot, people, "sent all the same")

    assert [call.status for call in fake.calls("sendMessage")] == [200] * 3


async def test_a_server_clock_set_back_delays_sends_by_seconds_not_by_as_long(
    pg_url: str,
) -> None:
    await (await make_postgres_store(pg_url)).close()
    pace = SendPace(pg_url, "1", OVERALL_RATE)
    try:
        assert await pace.reserve() <= pace.gap
        # What the row holds after the server's clock went back an hour.
        async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
            await conn.execute("UPDATE send_pace SET next_at = next_at + interval '1 hour'")
        assert await pace.reserve() <= AHEAD + pace.gap
    finally:
        await pace.close()
