"""The database file deleted (or replaced) under a running bot: no work accepted that would vanish.

SQLite goes on writing to a file it opened after it was deleted, so before this the bot kept
filing and announcing cases that were gone at the next start. The real PTB Application talks to
the fake Bot API; the database is deleted in the middle of an intake.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from fake_telegram import FakeBotAPI
from telegram_chat import Chat, bot_settings, running_bot, walk_sms_to_evidence

SAVE_FAILED = "存储暂时出了问题，刚才这条没能保存"


def remove_database(path: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.unlink(path + suffix)


async def test_a_deleted_database_is_noticed_and_nothing_is_filed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = bot_settings(tmp_path)
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    async with running_bot(fake, settings):
        await walk_sms_to_evidence(chat)
        await chat.choose("跳过", "（12/12）")
        remove_database(settings.storage_db_path)
        chat.press("停止给我发短信")
        await chat.expect(SAVE_FAILED)  # "try again later", not a step moved past
        await chat.say("/start", SAVE_FAILED)  # and so on: every write is refused
        await chat.say("/lang en", SAVE_FAILED)  # (so it stays in Chinese)
    assert not any("投诉已提交" in (m.text or "") for m in alice.received)
    lost = [r for r in caplog.records if "was deleted or replaced" in r.getMessage()]
    assert len(lost) == 1 and lost[0].levelno == logging.ERROR  # one line, not one per write
    assert settings.storage_db_path in lost[0].getMessage()


async def test_a_database_replaced_by_another_file_is_noticed(tmp_path: Path) -> None:
    settings = bot_settings(tmp_path)
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    async with running_bot(fake, settings):
        await chat.say("/start", "遇到了什么问题")
        # Restored from a backup while running: the path names another file than the open one.
        path = settings.storage_db_path
        os.replace(path, path + ".old")
        Path(path).write_bytes(Path(path + ".old").read_bytes())
        alice.send_command("/start")
        await chat.expect(SAVE_FAILED)
