"""A button press is always answered where the person looks: at the newest message.

A multi-choice press is answered by editing the pressed question in place. Two copies of one
question can be on screen with live buttons (the question asked again after /start, or a reply
sent again after a restart), and a toggle is relative to what is saved, not to the copy
pressed: a press on a stale copy can leave it exactly as it is, which Telegram refuses to edit
("message is not modified"). The person pressed and saw nothing; the 300-kill crash run
(CRASH_SEED=2643366143) counted one such unanswered press. A press kept before a restart is
answered below, not by an edit: the restart may have sent other messages after the pressed one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_telegram import FakeBotAPI, SentMessage
from telegram_chat import Chat, bot_settings, read_back, running_bot, walk_sms_to_evidence

from bot.config import Settings
from flows.model import Button, ConversationKey, Reply
from flows.records import Inbound
from storage import SqliteStore

STOP = "停止给我发短信"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return bot_settings(tmp_path)


def labels(fake: FakeBotAPI, message: SentMessage) -> list[str]:
    """Return the buttons `message` shows now (after any edit)."""
    return fake.sent_message(message.chat_id, message.message_id).button_labels


def copy_of(message: SentMessage) -> Reply:
    """Return the reply that `message` is (its text and buttons)."""
    rows = message.raw["reply_markup"]["inline_keyboard"]
    return Reply(
        message.text or "",
        tuple(tuple(Button(b["text"], b["callback_data"]) for b in row) for row in rows),
    )


async def file_with_stop_sending(chat: Chat, question: SentMessage) -> None:
    """Select "stop sending" on `question`, then finish and file the complaint."""
    chat.user.press(question, label=f"⬜ {STOP}")
    await chat.fake.wait_until(lambda: f"✅ {STOP}" in labels(chat.fake, question))
    await chat.choose("完成", "请核对你的投诉")
    summary = chat.user.received[-1].text or ""
    assert STOP in summary, summary
    await chat.choose("提交投诉", "投诉已提交，编号 TS-")


async def test_a_press_that_leaves_its_copy_unchanged_gets_the_question_anew(
    settings: Settings,
) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    async with running_bot(fake, settings):
        await walk_sms_to_evidence(chat)
        first = await chat.choose("跳过", "（12/12）")
        await chat.say("/start", "继续，还是重新开始")
        second = await chat.choose("继续填写", "（12/12）")  # a second copy, same buttons
        alice.press(first, label=f"⬜ {STOP}")  # selects it: the first copy is edited
        await fake.wait_until(lambda: f"✅ {STOP}" in labels(fake, first))

        # The second copy still shows it unselected; pressed, it unselects it, which leaves
        # that copy as it is: the question comes anew, showing what is selected now.
        alice.press(second, label=f"⬜ {STOP}")
        anew = await chat.expect("（12/12）")
        assert f"⬜ {STOP}" in anew.button_labels
        await fake.wait_until(lambda: labels(fake, second) == [])  # no live copy left behind
        assert (fake.sent_message(alice.id, second.message_id).text or "").endswith(f"→ ⬜ {STOP}")

        await file_with_stop_sending(chat, anew)


async def test_a_press_kept_before_a_restart_is_answered_below_what_the_restart_sent(
    settings: Settings,
) -> None:
    """CRASH_SEED=2643366143, step by step: the bot sent the remedies question, kept a press on
    it and was killed before handling the press and before noting the question as sent."""
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    async with running_bot(fake, settings):
        await walk_sms_to_evidence(chat)
        first = await chat.choose("跳过", "（12/12）")
    press = alice.press(first, label=f"⬜ {STOP}")  # fetched and kept, not yet handled
    key = ConversationKey("telegram", str(alice.id))

    async def killed(store: SqliteStore) -> None:
        inbox = [Inbound(f"{fake.bot_id}:{press['update_id']}", str(alice.id), press)]
        await store.accept_updates("telegram", inbox)
        await store.keep_replies(key, str(alice.id), [copy_of(first)], [])

    await read_back(settings, killed)
    async with running_bot(fake, settings):
        second = await chat.expect("（12/12）")  # the question sent again at the start
        selected = await chat.expect("（12/12）")  # the kept press, answered below it
        assert f"✅ {STOP}" in selected.button_labels
        assert labels(fake, first) == []  # the pressed message is marked, not left live
        assert f"⬜ {STOP}" in labels(fake, second)

        # Pressed on the copy sent again, which still shows it unselected: it is unselected,
        # and the question comes anew (the press the crash run counted as unanswered).
        alice.press(second, label=f"⬜ {STOP}")
        anew = await chat.expect("（12/12）")
        assert f"⬜ {STOP}" in anew.button_labels
        await file_with_stop_sending(chat, anew)
