"""The WeChat messenger on PostgreSQL (storage.url), through the fake WeCom.

A complaint filed with a screenshot and a PDF, the letter received as text and file, a restart
that fetches no new access token, the follow-up held past the 48-hour window and sent first with
the person's next message; then `users forget` deletes what the messenger kept about them.
Nothing is written to SQLite, and the fake refuses no send.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import psycopg
from test_wecom_end_to_end import messages_of
from test_wecom_transcripts import WecomSession
from wecom_chat import wecom_bot

from bot.forget_command import forget_user


def count(url: str, sql: str, *params: str) -> int:
    """Return the number a counting query finds in the database at `url`."""
    with psycopg.connect(url) as conn:
        found = conn.execute(sql, params).fetchone()
    assert found is not None
    return int(found[0])


async def test_a_complaint_filed_through_wechat_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    async with wecom_bot(tmp_path, storage_url=pg_url) as bot:
        session = WecomSession(bot)
        for text in [*messages_of("sms_spam"), "不写姓名", "不留电话"]:
            await session.send(text)
            if any(n.endswith(".txt") for n in session.files):
                break
        [case] = await session.cases()
        number = case["number"]
        assert case["category"] == "sms"
        assert sorted(e["mime_type"] for e in case["evidence"]) == ["application/pdf", "image/png"]
        letters = [n for n in session.files if n.startswith(number) and n.endswith(".txt")]
        assert letters and number in session.files[letters[0]].decode()
        assert f"{number}-deadline.ics" in session.files
        alice = session.person.id
        person = "SELECT count(*) FROM wecom_people WHERE external_userid = %s"
        assert count(pg_url, person, alice) == 1
        assert count(pg_url, "SELECT count(*) FROM wecom_cursors") == 1

        await bot.stop()  # a restart: the cursor, the window and the token are in PostgreSQL
        await bot.start()
        assert await session.send("/help")  # answered after the restart
        assert bot.fake.calls.count("gettoken") == 1

        # Past the deadline the window has long closed: the follow-up waits for her...
        assert bot.services is not None
        due = await bot.services.store.next_due_at(audience="wecom")
        assert due is not None
        bot.clock.set(due + timedelta(minutes=1))
        await bot.services.scheduler.settle()
        assert session.person.new() == []
        deferred = (
            "SELECT count(*) FROM reminders WHERE status = 'pending' AND deferred_at IS NOT NULL"
        )
        assert count(pg_url, deferred) == 1
        # ... and comes first when she writes again (the old token expired: one more fetch).
        output = await session.send("你好")
        assert "答复你了吗" in output.split("\n\n")[0], output
        assert count(pg_url, deferred) == 0
        assert bot.fake.calls.count("gettoken") == 2
        assert bot.fake.refusals == []
    assert not (tmp_path / "bot.sqlite3").exists()

    # `complaint-bot users forget wecom:ID --yes` (in a thread: it runs its own event loop).
    status = await asyncio.to_thread(forget_user, bot.settings, f"wecom:{alice}", assume_yes=True)

    assert status == 0
    assert count(pg_url, person, alice) == 0
    assert count(pg_url, "SELECT count(*) FROM wecom_inbox") == 0
    assert count(pg_url, "SELECT count(*) FROM users") == 0
