"""Owner only, on WeChat: person B cannot see, change or get the letter of person A's case.

A files an SMS complaint through the fake WeCom and opens it (/case), so her screen holds the
case's menu. B then tries every way in with A's number: the commands, every menu id A was ever sent that names her case (a menu click carries its id back, so B
can replay them), every global case button, and the numbers that press A's menu items. Each
gets exactly what a number never issued gets (the numbers blanked), A's case and its timeline
do not change, and B is sent no file and never sees A's case listed. A's number typed on its
own, and the numbers that press A's menu items, tell B nothing of her case.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from engine_chat import CASE_BUTTONS
from fake_wecom import Delivered, FakeCustomer
from test_wecom_end_to_end import messages_of
from test_wecom_transcripts import WecomSession
from wecom_chat import WecomBot, wecom_bot

from storage import case_numbers

Shown = list[tuple[str, str, list[tuple[str, str]]]]


def shown(messages: list[Delivered], number: str) -> Shown:
    """What B reads, the number asked about blanked and turn counters in menu ids too."""
    return [
        (
            m.msgtype,
            m.text.replace(number, "<N>"),
            [(re.sub(r"^\d+:", "T:", i.replace(number, "<N>")), label) for i, label in m.menu],
        )
        for m in messages
    ]


async def sends(bot: WecomBot, person: FakeCustomer, *, text: str = "", menu_id: str = "") -> list[Delivered]:  # fmt: skip
    """Send a text or a menu click; return what the bot answered."""
    person.new()
    if menu_id:
        await person._write({"msgtype": "text", "text": {"content": "查看", "menu_id": menu_id}})
    else:
        await person.send_text(text)
    await bot.settle()
    return person.new()


def snapshot(db: str, number: str) -> tuple[list[tuple[object, ...]], ...]:
    """Return the rows of a case and everything hanging from it."""
    conn = sqlite3.connect(db)
    try:
        (case_id,) = conn.execute("SELECT id FROM cases WHERE number = ?", (number,)).fetchone()
        return tuple(
            [tuple(r) for r in conn.execute(f"SELECT * FROM {table} WHERE {key} = ?", (case_id,))]
            for table, key in (
                ("cases", "id"),
                ("events", "case_id"),
                ("reminders", "case_id"),
                ("evidence", "case_id"),
            )
        )
    finally:
        conn.close()


async def test_someone_elses_case_on_wechat_is_answered_like_a_missing_one(tmp_path: Path) -> None:
    async with wecom_bot(tmp_path) as bot:
        session = WecomSession(bot)
        alice = session.person
        for text in [*messages_of("sms_spam"), "不写姓名", "不留电话"]:
            await session.send(text)
        (case,) = await session.cases()
        number = str(case["number"])
        await session.send(f"/case {number}")
        menu = [m for m in alice.inbox if m.menu][-1].menu  # on A's screen now
        replayed = sorted({i for m in alice.inbox for i, _ in m.menu if number in i})
        assert replayed, "A was sent no menu naming her case: nothing to replay"
        nobodys = case_numbers.new_number(2026)  # well formed, never issued
        db = bot.settings.storage_db_path
        before = snapshot(db, number)

        bob = bot.customer("wmOwnerBob")
        await sends(bot, bob, text="/start")
        typed = ["/case {n}", "/case {lower}", "/letter {n}", "/export {n}", "/channels {n}"]
        for template in typed:
            theirs = await sends(bot, bob, text=template.format(n=number, lower=number.lower()))
            missing = await sends(bot, bob, text=template.format(n=nobodys, lower=nobodys.lower()))
            assert shown(theirs, number) == shown(missing, nobodys), template
        buttons = [*replayed, *(t.format(n=number) for t in CASE_BUTTONS)]
        for data in buttons:
            theirs = await sends(bot, bob, menu_id=data)
            missing = await sends(bot, bob, menu_id=data.replace(number, nobodys))
            assert shown(theirs, number) == shown(missing, nobodys), data
        # A's number typed on its own is a message to check, nothing about her case; and the
        # numbers that press A's menu items press only B's own.
        content = str(case["answers"]["content"])
        for text in [number, *map(str, range(1, len(menu) + 1))]:
            answer = "\n".join(m.shown for m in await sends(bot, bob, text=text))
            assert content not in answer and "投诉信" not in answer, text
            assert text == number or number not in answer, text

        assert snapshot(db, number) == before  # nothing of A's case moved or was added
        assert [m.file_name for m in bob.inbox if m.msgtype == "file"] == []
        listed = await sends(bot, bob, text="/cases")
        assert number not in "\n".join(m.shown for m in listed)
        assert "Traceback" not in "\n".join(m.shown for m in bob.inbox)
        assert bot.fake.refusals == []
