"""Nothing lost in flight on Telegram: updates kept before they are confirmed, replies kept until sent.

The real PTB Application polls the fake Bot API; "a crash" is a bot stopped at a chosen point
and started again on the same database.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from fake_telegram import FakeBotAPI
from telegram_chat import Chat, bot_settings, read_back, running_bot, walk_sms_to_evidence

from bot.config import Settings
from bot.messengers.outbox import Outbox
from flows.errors import StorageError
from flows.model import ConversationKey, Reply
from flows.records import Inbound
from storage import SqliteStore


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return bot_settings(tmp_path, telegram_album_wait=0.2, telegram_forward_wait=0.2)


async def test_an_update_is_confirmed_to_telegram_only_once_it_is_kept(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    keeping = asyncio.Event()  # set: the database finishes keeping what it was given
    asked = asyncio.Event()
    accept = SqliteStore.accept_updates

    async def slow(self: SqliteStore, messenger: str, updates: Any) -> int:
        asked.set()
        await keeping.wait()
        return await accept(self, messenger, updates)

    monkeypatch.setattr(SqliteStore, "accept_updates", slow)
    async with running_bot(fake, settings):
        start = alice.send_command("start")
        await asyncio.wait_for(asked.wait(), 5)

        # Fetched, being kept: no further poll confirms it (Telegram would give it again
        # after a crash now), and nothing is answered yet.
        assert [u["update_id"] for u in fake.pending_updates] == [start["update_id"]]
        assert alice.received == []

        keeping.set()
        await chat.expect("遇到了什么问题")
        await fake.wait_until(lambda: fake.pending_updates == [])  # the next poll confirmed it


async def test_an_update_the_database_refuses_to_keep_is_answered_all_the_same(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)

    async def refuse(self: SqliteStore, messenger: str, updates: Any) -> int:
        raise StorageError("database: disk I/O error")

    monkeypatch.setattr(SqliteStore, "accept_updates", refuse)
    async with running_bot(fake, settings):
        await chat.say("/start", "遇到了什么问题")  # from memory, rather than not at all
        await fake.wait_until(lambda: fake.pending_updates == [])


async def test_replies_kept_before_a_crash_go_out_at_the_next_start_before_newer_messages(
    settings: Settings,
) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    key = ConversationKey("telegram", str(alice.id))
    # What a process killed between keeping these replies and sending them left, and a message
    # of Alice's it had kept (and confirmed) but not handled.
    start = alice.send_command("start")  # queued: the dead process confirmed nothing

    async def left_behind(store: SqliteStore) -> None:
        await store.keep_replies(key, str(alice.id), [Reply("上一条回答（崩溃前）")], done=[])
        inbound = Inbound(f"{fake.bot_id}:{start['update_id']}", str(alice.id), start)
        await store.accept_updates("telegram", [inbound])

    await read_back(settings, left_behind)
    async with running_bot(fake, settings):
        await chat.expect("遇到了什么问题")
        texts = [m.text or "" for m in alice.received]
        # The kept reply first, once; then the kept /start, answered once (the copy Telegram
        # gives again is recognised as kept).
        assert texts[0] == "上一条回答（崩溃前）"
        assert sum("遇到了什么问题" in t for t in texts) == 1
        await fake.settle(quiet=0.3)
        assert [m.text for m in alice.received].count("上一条回答（崩溃前）") == 1
        assert await read_back(settings, lambda s: s.unsent_replies("telegram")) == []


async def test_a_filing_whose_answer_died_with_the_process_is_announced_after_a_restart(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    async with running_bot(fake, settings):
        await walk_sms_to_evidence(chat)
        await chat.choose("跳过", "（12/12）")
        question = chat.press("停止给我发短信")
        await fake.wait_until(
            lambda: (
                "✅ 停止给我发短信"
                in fake.sent_message(alice.id, question.message_id).button_labels
            )
        )
        await chat.choose("完成", "请核对你的投诉")

        # The process dies after the filing committed, before its replies were kept.
        async def killed(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("killed")

        monkeypatch.setattr(Outbox, "deliver", killed)
        chat.press("提交投诉")
        await fake.settle(quiet=0.5)
    assert not any("投诉已提交" in (m.text or "") for m in alice.received)
    key = ConversationKey("telegram", str(alice.id))
    [case] = await read_back(settings, lambda s: s.list_cases(key))

    monkeypatch.undo()
    async with running_bot(fake, settings):
        filed = await chat.expect("投诉已提交，编号")
        assert re.search(case.number, filed.text or "")
        await chat.expect("遇到了什么问题")  # then where the conversation stands: the menu
        await fake.settle(quiet=0.3)
    assert sum("投诉已提交" in (m.text or "") for m in alice.received) == 1
    assert await read_back(settings, lambda s: s.pending_updates("telegram")) == []
