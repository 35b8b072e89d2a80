"""Done when (issue 18): a complaint in each of four categories filed through the fake WeCom,
with a screenshot and a PDF, the letter received as text and as a file, the follow-up
delivered after the 48-hour window closed, and no send the fake refused.

The conversations are those of the transcripts, their evidence step answered with a
screenshot and a PDF sent together; the other lines are replayed as the person's messages.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from test_wecom_transcripts import WecomSession
from transcripts.test_transcripts import HERE
from wecom_chat import wecom_bot

from bot.messengers.wecom.outbox import MAX_TEXT

CATEGORIES = {
    "sms_spam": "sms",
    "calls": "calls",
    "wallet_withdrawal": "wallet",
    "crypto": "crypto",
}


def messages_of(name: str) -> list[str]:
    """Return what the person sends in a transcript, the evidence step given two files."""
    sent: list[str] = []
    asked_evidence = False
    for raw in (HERE / f"{name}.txt").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("< ") and "截图最有用" in line:
            asked_evidence = True
        elif line.startswith("> "):
            text = line[2:]
            if asked_evidence:
                asked_evidence = False
                image = text.split()[1] if text.startswith("/file ") else "sms-screenshot.png"
                sent.append(f"/file {image} transaction-record.pdf")
                if not text.startswith("/file "):
                    sent.append("完成")
                continue
            sent.append(text)
    return sent


@pytest.mark.parametrize("name", sorted(CATEGORIES))
async def test_a_complaint_filed_through_wechat_end_to_end(name: str, tmp_path: Path) -> None:
    async with wecom_bot(tmp_path) as bot:
        session = WecomSession(bot)
        letter_turn = ""
        # After filing, the bot asks for the name and phone to sign the letter with.
        for text in [*messages_of(name), "不写姓名", "不留电话"]:
            if letter_turn:
                break
            output = await session.send(text)
            if any(n.endswith(".txt") for n in session.files):
                letter_turn = output
        cases = await session.cases()
        assert len(cases) == 1 and cases[0]["category"] == CATEGORIES[name]
        case = cases[0]
        number = case["number"]
        kinds = sorted(e["mime_type"] for e in case["evidence"])
        assert kinds == ["application/pdf", "image/png"], kinds
        # The letter, as text (to copy into a complaint form) and as its .txt file.
        assert "此致" in letter_turn or "投诉书" in letter_turn, letter_turn
        letters = [n for n in session.files if n.startswith(number) and n.endswith(".txt")]
        assert letters, sorted(session.files)
        assert number in session.files[letters[0]].decode()
        assert f"{number}-deadline.ics" in session.files  # the deadline, for the phone's calendar

        # Past the deadline: the window has long closed, so the follow-up waits...
        assert bot.services is not None
        due = await bot.services.store.next_due_at(audience="wecom")
        assert due is not None
        bot.clock.set(due + timedelta(minutes=1))
        await bot.services.scheduler.settle()
        assert session.person.new() == []
        raw = sqlite3.connect(bot.settings.storage_db_path)
        try:
            deferred = raw.execute(
                "SELECT count(*) FROM reminders WHERE status = 'pending' AND deferred_at IS NOT NULL"
            ).fetchone()[0]
        finally:
            raw.close()
        assert deferred == 1
        # ... and comes first when the person writes again, within the quota.
        output = await session.send("你好")
        assert "答复你了吗" in output.split("\n\n")[0], output
        # The fake refuses a 6th message after one of the person's, a text over 2,048 bytes,
        # a menu of 11 items: none was refused.
        assert bot.fake.refusals == []
        texts = [m.text for m in session.person.inbox if m.msgtype != "file"]
        assert max(len(t.encode()) for t in texts) <= MAX_TEXT
