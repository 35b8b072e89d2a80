"""The Telegram bot on PostgreSQL: evidence goes into the database, and /forget takes it out."""

from __future__ import annotations

from pathlib import Path

import psycopg
from fake_telegram import FakeBotAPI, make_png
from pg_server import make_postgres_store
from telegram_chat import Chat, bot_settings, finish_sms, running_bot
from telegram_chat import walk_sms_to_evidence as walk

from flows.model import ConversationKey


def blob_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        found = conn.execute("SELECT count(*) FROM blobs").fetchone()
    assert found is not None
    return int(found[0])


async def test_a_photo_filed_on_telegram_is_kept_in_postgresql_until_forgotten(
    tmp_path: Path, pg_url: str
) -> None:
    settings = bot_settings(tmp_path, telegram_album_wait=0.2, storage_url=pg_url)
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    png = make_png(40, 40)
    key = ConversationKey("telegram", str(alice.id))
    async with running_bot(fake, settings):
        await walk(chat)
        alice.send_photo(png)
        await chat.expect("已收到 1 份")
        await finish_sms(chat)

        store = await make_postgres_store(pg_url, tmp_path / "elsewhere")
        try:
            [summary] = await store.list_cases(key)
            case = await store.get_case(key, summary.number)
            assert case is not None
            [photo] = case.evidence
            assert await store.read_blob(photo.path) == png
        finally:
            await store.close()
        assert not (tmp_path / "data" / "evidence").exists()  # no file on this machine's disk
        assert not (tmp_path / "bot.sqlite3").exists()

        await chat.say("/forget", "要删除我保存的关于你的全部内容吗")
        await chat.choose("全部删除", "已删除你的全部数据")

    assert blob_count(pg_url) == 0
    store = await make_postgres_store(pg_url, tmp_path / "elsewhere")
    try:
        assert await store.load_conversation(key) is None
        assert await store.list_cases(key) == []
    finally:
        await store.close()
