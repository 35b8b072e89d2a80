"""Bursts: 50 messages from one chat at once are handled in order and all recorded; 20 chats doing
it together do not mix; an album inside a burst is one evidence group.

Each burst is queued in one go (well within 100 ms, before the bot's next poll), on the default
settings (flood control included). A burst is: the seven typed answers up to the evidence step
(typing a button's label counts as pressing it), five screenshots one by one and an album of
five, with `/case` look-ups of made-up numbers in between, whose answers echo the number and so
show the order in which the bot handled them. The first album test, and the in-process
ordering, are in test_telegram.py; this is the same at volume.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fake_telegram import FakeBotAPI, FakeUser, make_png, running_application
from telegram.ext import AIORateLimiter
from telegram_chat import SMS, Chat, bot_settings, conversation

from bot.app import telegram_application
from bot.config import Settings

MESSAGES = 50
ANSWERS = ("垃圾 / 骚扰短信", "{sender}", "2026-11-0{day}", "每天都有", "{content}", "退订过，但还在发", "2026-11-0{day}", "共 3 条", "中国移动", "13800138000")  # fmt: skip
SINGLES, ALBUM = 5, 5
LOOKUPS = MESSAGES - len(ANSWERS) - SINGLES - ALBUM
ECHO = re.compile(r"没有找到 (TS-2026-9\d{5})")


@asynccontextmanager
async def running_bot(fake: FakeBotAPI, settings: Settings) -> AsyncIterator[Any]:
    """The bot as `telegram_chat.running_bot` runs it, without Telegram's 30 messages a second.

    That limit is Telegram's, not ours, and the fake does not enforce it: kept, 1,000 replies
    would take 33 s of waiting and prove nothing more.
    """
    app = telegram_application(
        settings, request=fake.make_request(), get_updates_request=fake.make_request()
    )
    app.bot._rate_limiter = AIORateLimiter(overall_max_rate=0, max_retries=3)
    async with running_application(app, allowed_updates=["message", "callback_query"]):
        yield app


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return bot_settings(tmp_path, telegram_album_wait=0.3)


def photo(chat: int, index: int) -> bytes:
    return make_png(10 + index, 10 + chat)


def burst(user: FakeUser, chat: int) -> list[str]:
    """Queue one chat's 50 messages at once; return the look-up numbers in the order sent."""
    values = {"sender": f"106901234567{chat:02d}", "day": chat % 9 + 1, "content": f"第{chat}号"}
    sent: list[str] = []

    def lookup() -> None:
        number = f"TS-2026-9{chat:02d}{len(sent):03d}"
        sent.append(number)
        user.send_command("case", number)

    per_gap = LOOKUPS // (len(ANSWERS) + SINGLES + 1)
    for answer in ANSWERS:
        for _ in range(per_gap):
            lookup()
        user.send_text(answer.format(**values))
    for index in range(SINGLES):
        lookup()
        user.send_photo(photo(chat, index))
    user.send_album([photo(chat, SINGLES + i) for i in range(ALBUM)])
    while len(sent) < LOOKUPS:
        lookup()
    return sent


async def start_intake(chat: Chat) -> None:
    await chat.say("/start", "遇到了什么问题")
    await chat.choose(SMS, "（1/11）")


async def check_chat(settings: Settings, fake: FakeBotAPI, user: FakeUser, chat: int, sent: list[str]) -> None:  # fmt: skip
    echoed = [m[1] for t in fake.texts(user.id) if t and (m := ECHO.search(t))]
    assert echoed == sent, "look-ups answered out of order, or answered to another chat"
    saved = await conversation(settings, user)
    assert saved.state == "evidence"
    assert saved.answers["sender"]["number"] == f"106901234567{chat:02d}"
    assert saved.answers["started"]["date"] == f"2026-11-0{chat % 9 + 1}"
    assert saved.answers["content"] == f"第{chat}号"
    conn = sqlite3.connect(settings.storage_db_path)
    try:
        rows = conn.execute(
            "SELECT e.path, e.group_id FROM evidence e JOIN users u ON u.id = e.user_id"
            " WHERE u.external_id = ? ORDER BY e.id",
            (str(user.id),),
        ).fetchall()
    finally:
        conn.close()
    stored = [(Path(settings.storage_data_dir) / path).read_bytes() for path, _ in rows]
    assert stored == [photo(chat, i) for i in range(SINGLES + ALBUM)]  # all, in order, theirs
    groups = [group for _, group in rows]
    assert groups[:SINGLES] == [None] * SINGLES
    assert len(set(groups[SINGLES:])) == 1 and groups[-1] is not None  # the album: one group


def handled(settings: Settings) -> int:
    conn = sqlite3.connect(settings.storage_db_path)
    try:
        return int(conn.execute("SELECT count(*) FROM deliveries").fetchone()[0])
    finally:
        conn.close()


async def test_fifty_messages_at_once_are_handled_in_order(settings: Settings) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    async with running_bot(fake, settings):
        await start_intake(chat)
        before = handled(settings)
        sent = burst(alice, 0)
        await chat.expect(f"共 {SINGLES + ALBUM} 份证据")
        await fake.settle(quiet=0.5)
    await check_chat(settings, fake, alice, 0, sent)
    # Every update of the burst was recorded as handled; the album's five count as one message.
    assert handled(settings) - before == MESSAGES


async def test_twenty_chats_bursting_together_do_not_mix(settings: Settings) -> None:
    fake = FakeBotAPI()
    people = [fake.add_user(f"User{i}") for i in range(20)]
    chats = [Chat(fake, user) for user in people]
    async with running_bot(fake, settings):
        await asyncio.gather(*(start_intake(chat) for chat in chats))
        sent = [burst(user, index) for index, user in enumerate(people)]  # 1,000 updates
        for chat in chats:
            await chat.expect(f"共 {SINGLES + ALBUM} 份证据")
        await fake.settle(quiet=0.5, timeout=60)
    for index, user in enumerate(people):
        await check_chat(settings, fake, user, index, sent[index])
