"""/forget on Telegram: the confirmation buttons, and nothing of the person left afterwards."""

from __future__ import annotations

from pathlib import Path

from fake_telegram import FakeBotAPI, make_png
from telegram_chat import Chat, bot_settings, finish_sms, read_back, running_bot
from telegram_chat import walk_sms_to_evidence as walk

from flows.model import ConversationKey


async def test_forget_on_telegram_deletes_the_person_and_their_files(tmp_path: Path) -> None:
    settings = bot_settings(tmp_path, telegram_album_wait=0.2)
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    async with running_bot(fake, settings):
        await walk(chat)
        alice.send_photo(make_png(40, 40))
        await chat.expect("已收到 1 份")
        await finish_sms(chat)
        assert any((tmp_path / "data" / "evidence").rglob("*"))
        await chat.say("/forget", "要删除我保存的关于你的全部内容吗")
        await chat.choose("全部删除", "已删除你的全部数据")
    key = ConversationKey("telegram", str(alice.id))
    assert await read_back(settings, lambda store: store.load_conversation(key)) is None
    assert await read_back(settings, lambda store: store.list_cases(key)) == []
    assert not [p for p in (tmp_path / "data" / "evidence").rglob("*") if p.is_file()]
