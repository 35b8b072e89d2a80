"""`complaint-bot users forget wecom:ID` deletes what the WeChat messenger keeps about a person:
their window and screen (wecom_people), messages pulled but not handled (wecom_inbox), and
reminders deferred for their next message; nobody else's."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from wecom_chat import NOW, wecom_bot

from bot.__main__ import main
from flows.model import ConversationKey
from flows.records import Conversation, NewCase, NewReminder, StepCommit
from storage import SqliteStore


def count(db: str, sql: str, *args: object) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute(sql, args).fetchone()[0])
    finally:
        conn.close()


async def file_deferred_case(db: str, data: str, person: str) -> None:
    """File a case for a WeChat person with a reminder deferred to their next message."""
    store = await SqliteStore.open(db, data)
    try:
        key = ConversationKey("wecom", person)
        conv = Conversation(key, f"wkFAKEKF0001|{person}", "zh", draft_id="d1", updated_at=NOW)
        case = NewCase(
            "sms", "营销短信", "sms_spam", 1, "zh", {}, [], NOW,
            due_at=NOW + timedelta(days=15),
            reminder=NewReminder("deadline", NOW + timedelta(days=15)),
        )  # fmt: skip
        await store.commit(StepCommit(conv, new_case=case))
    finally:
        await store.close()
    conn = sqlite3.connect(db)
    conn.execute("UPDATE reminders SET deferred_at = ?", (NOW.isoformat(),))
    conn.commit()
    conn.close()


def test_users_forget_deletes_the_wechat_rows_of_one_person(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def chat() -> tuple[str, str, str]:
        async with wecom_bot(tmp_path) as bot:
            alice, bob = bot.customer("wmAlice"), bot.customer("wmBob")
            for person in (alice, bob):
                await bot.say(person, "/start")
                await bot.tap(person, "短信")
            settings = bot.settings
        return alice.id, settings.storage_db_path, settings.storage_data_dir

    alice, db, data = asyncio.run(chat())
    asyncio.run(file_deferred_case(db, data, alice))
    conn = sqlite3.connect(db)  # a message of hers pulled but not yet handled
    conn.execute(
        "INSERT INTO wecom_inbox (msgid, open_kfid, external_userid, body, received_at)"
        " VALUES (?, ?, ?, ?, ?)",
        ("msg-1", "wkFAKEKF0001", alice, json.dumps({"msgtype": "text"}), NOW.isoformat()),
    )
    conn.commit()
    conn.close()
    assert count(db, "SELECT count(*) FROM reminders WHERE deferred_at IS NOT NULL") == 1

    assert main(["users", "forget", f"wecom:{alice}", "--db", db, "--data-dir", data, "--yes"]) == 0
    assert f"forgot wecom:{alice}" in capsys.readouterr().out

    for table in ("wecom_people", "wecom_inbox"):
        assert count(db, f"SELECT count(*) FROM {table} WHERE external_userid = ?", alice) == 0
    assert count(db, "SELECT count(*) FROM reminders") == 0
    assert count(db, "SELECT count(*) FROM wecom_people WHERE external_userid = 'wmBob'") == 1
    assert count(db, "SELECT count(*) FROM conversations") == 1  # Bob's
