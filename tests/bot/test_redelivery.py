"""The same update delivered twice has its effect once: no second answer, evidence, case or reminder.

Telegram repeats an update when a webhook call failed, and in polling mode after a crash when the
update was fetched but not yet confirmed. The fake's `enqueue` hands an already-delivered update
to the bot again, whatever offset it polls with.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fake_telegram import FakeBotAPI, FakeUser, make_png, origin_user
from telegram_chat import (
    SMS,
    Chat,
    bot_settings,
    conversation,
    read_back,
    running_bot,
    the_case,
    unsubscribed_to_evidence,
    walk_sms_to_evidence,
)

from bot.config import Settings
from flows.errors import AlreadyHandled
from flows.model import ConversationKey
from flows.records import Conversation, Deliveries, StepCommit
from storage import SqliteStore
from storage.deliveries import KEEP

JSON = dict[str, Any]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return bot_settings(tmp_path, telegram_album_wait=0.2, telegram_forward_wait=0.2)


def press(chat: Chat, label: str) -> JSON:
    """Press the newest button whose label contains `label`; return the update it sent."""
    message = chat.button(label)
    exact = next(shown for shown in message.button_labels if label in shown)
    return chat.user.press(message, label=exact)


async def redeliver(fake: FakeBotAPI, chat: Chat, *updates: JSON) -> None:
    """Deliver `updates` again and check that the bot says nothing more."""
    for update in updates:
        fake.enqueue(update)
    await fake.settle(quiet=0.4)  # longer than the album and forward windows
    assert [m.text for m in chat._new()] == [], "a redelivered update was answered again"


async def state_of(settings: Settings, user: FakeUser) -> Conversation:
    return await conversation(settings, user)


async def test_each_kind_of_update_delivered_again_changes_nothing(settings: Settings) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    scammer = fake.add_user("客服")
    chat = Chat(fake, alice)
    async with running_bot(fake, settings):
        start = alice.send_command("start")
        await chat.expect("遇到了什么问题")
        await redeliver(fake, chat, start)

        category = press(chat, SMS)
        await chat.expect("（1/11）")
        await redeliver(fake, chat, category)  # a button press

        await chat.choose("垃圾 / 骚扰短信", "（2/11）")
        sender = alice.send_text("10690123456789")
        await chat.expect("（3/11）")
        before = await state_of(settings, alice)
        await redeliver(fake, chat, sender)  # a typed answer: not taken as the next answer
        assert await state_of(settings, alice) == before

        await chat.say("昨天", "（4/11）")
        await chat.choose("每天都有", "（5/11）")
        await chat.say("原文", "（6/11）")
        await unsubscribed_to_evidence(chat)

        photo = alice.send_photo(make_png(21, 21))
        await chat.expect("已收到 1 份，共 1 份证据")
        await redeliver(fake, chat, photo)
        album = alice.send_album([make_png(22, 22), make_png(23, 23)])
        await chat.expect("共 3 份证据")
        await redeliver(fake, chat, *album)  # all of its updates, gathered again as one
        forward = alice.forward(origin_user(scammer), text="您的账户异常，请点击链接")
        await chat.expect("共 4 份证据")
        await redeliver(fake, chat, forward)
        help_ = alice.send_command("help")  # changes nothing, and is still answered once
        await chat.expect("/cases")
        await redeliver(fake, chat, help_)

        await chat.choose("完成", "（12/12）")
        question = chat.press("停止给我发短信")  # a multi-choice: the message is edited
        await fake.wait_until(
            lambda: (
                "✅ 停止给我发短信"
                in fake.sent_message(alice.id, question.message_id).button_labels
            )
        )
        await chat.choose("完成", "请核对你的投诉")
        file_it = press(chat, "提交投诉")
        filed = await chat.expect("投诉已提交，编号 TS-")
        await chat.expect("要在信上署你的姓名吗")  # the rest of the answer to the filing
        await redeliver(fake, chat, file_it)  # the filing press: still one case, one reminder
        number = (filed.text or "").split("编号 ")[1].split("。")[0]

        await chat.choose("查看投诉", number)
        sent = press(chat, "我已发出投诉")
        await chat.expect("已记录")
        await chat.expect("工单号")  # then asked for, for the next letters
        await redeliver(fake, chat, sent)  # a change to the filed case: recorded once
        ticket = alice.send_text("1120123456")
        await chat.expect("工单号记下了")
        await redeliver(fake, chat, ticket)

    case = await the_case(settings, alice, number)
    assert len(case.evidence) == 4
    assert len({e.sha256 for e in case.evidence}) == 4
    kinds = [e.kind for e in case.events]
    assert kinds.count("filed") == 1 and kinds.count("sent") == 1, kinds
    assert [e.data.get("ticket") for e in case.events if e.kind == "ticket"] == ["1120123456"]
    key = ConversationKey("telegram", str(alice.id))
    assert [c.number for c in await read_back(settings, lambda s: s.list_cases(key))] == [number]
    reminders = await read_back(settings, lambda s: s.pending_reminders())
    assert [(r.case_number, r.kind) for r in reminders] == [(number, "deadline")]


async def test_an_update_redelivered_after_an_unconfirmed_restart(settings: Settings) -> None:
    """Polling after a crash: the new process gets again what the old one had not confirmed."""
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    async with running_bot(fake, settings):
        await walk_sms_to_evidence(chat)
        photo = alice.send_photo(make_png(30, 30))
        await chat.expect("已收到 1 份")
    async with running_bot(fake, settings):  # a new process on the same database
        await redeliver(fake, chat, photo)
        await chat.choose("完成", "（12/12）")
    saved = await conversation(settings, alice)
    assert saved.state == "remedies"


async def test_a_commit_whose_deliveries_are_all_recorded_writes_nothing(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "bot.sqlite3", tmp_path / "data")
    try:
        key = ConversationKey("telegram", "42")
        first = Deliveries("telegram", ("7:100", "7:101"))
        await store.commit(StepCommit(Conversation(key, "42", "zh", turn=1), deliveries=first))
        assert await store.handled(first)
        assert await store.handled(Deliveries("telegram", ("7:101",)))
        assert not await store.handled(Deliveries("telegram", ("7:101", "7:102")))
        assert not await store.handled(Deliveries("console", ("7:100",)))  # per messenger

        with pytest.raises(AlreadyHandled):
            await store.commit(StepCommit(Conversation(key, "42", "zh", turn=2), deliveries=first))
        assert (await store.load_conversation(key)).turn == 1  # type: ignore[union-attr]

        # A burst that joined a redelivered update with a new one is about the new one.
        mixed = Deliveries("telegram", ("7:101", "7:102"))
        await store.commit(StepCommit(Conversation(key, "42", "zh", turn=3), deliveries=mixed))
        assert (await store.load_conversation(key)).turn == 3  # type: ignore[union-attr]
    finally:
        await store.close()


async def test_old_delivery_records_are_pruned(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    store = await SqliteStore.open(path, tmp_path / "data")
    await store.close()
    conn = sqlite3.connect(path)
    old = (datetime.now(UTC) - KEEP - timedelta(hours=1)).isoformat(timespec="microseconds")
    recent = (datetime.now(UTC) - KEEP + timedelta(hours=1)).isoformat(timespec="microseconds")
    with conn:
        conn.executemany(
            "INSERT INTO deliveries (messenger, delivery_id, handled_at) VALUES ('telegram', ?, ?)",
            [("7:1", old), ("7:2", recent)],
        )
    store = await SqliteStore.open(path, tmp_path / "data")
    try:  # the first write after opening prunes (then one in every thousand)
        await store.mark_handled(Deliveries("telegram", ("7:3",)))
    finally:
        await store.close()
    kept = [row[0] for row in conn.execute("SELECT delivery_id FROM deliveries ORDER BY 1")]
    conn.close()
    assert kept == ["7:2", "7:3"]
