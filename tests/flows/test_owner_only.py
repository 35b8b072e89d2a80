"""Only the owner of a case sees or moves it: for anyone else its number does not exist.

Every way in — `/case NUMBER` and each global case button (`g:VERB:NUMBER[:ARG]`) — gives
someone else's number exactly the reply a number that was never issued gets, and changes nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from engine_chat import (
    CASE_BUTTONS,
    Person,
    file_from_evidence,
    open_engine,
    raw_connection,
    walk_sms_to_evidence,
)
from fake_telegram import FakeBotAPI
from telegram_chat import Chat, bot_settings, finish_sms, running_bot
from telegram_chat import walk_sms_to_evidence as walk_on_telegram

from flows.model import Reply
from storage import case_numbers


def shown(replies: list[Reply], number: str) -> list[tuple[str, str]]:
    """The replies as the person sees them, the number asked about and turn counters blanked."""
    return [
        (
            r.text.replace(number, "<N>"),
            re.sub(r"data='\d+:", "data='T:", str(r.buttons).replace(number, "<N>")),
        )
        for r in replies
    ]


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_someone_elses_case_is_answered_like_a_missing_one(tmp_path: Path, lang: str) -> None:
    engine, store = await open_engine(tmp_path)
    alice, bob = Person(engine, "alice"), Person(engine, "bob")
    await walk_sms_to_evidence(alice)
    theirs_number = await file_from_evidence(alice)
    nobodys = case_numbers.new_number(2026)  # well formed, never issued
    assert nobodys != theirs_number
    raw = raw_connection(tmp_path / "db.sqlite3")
    before = [tuple(r) for r in raw.execute("SELECT * FROM cases")]
    events = raw.execute("SELECT count(*) FROM events").fetchone()[0]
    await bob.send("/start")
    await bob.send(f"/lang {lang}")

    for command in ("/case {n}", "/case {n_lower}", "/case   {n}  "):
        theirs = await bob.send(command.format(n=theirs_number, n_lower=theirs_number.lower()))
        missing = await bob.send(command.format(n=nobodys, n_lower=nobodys.lower()))
        assert shown(theirs, theirs_number) == shown(missing, nobodys), command
    for template in CASE_BUTTONS:
        theirs = await bob.send(button=template.format(n=theirs_number))
        missing = await bob.send(button=template.format(n=nobodys))
        assert shown(theirs, theirs_number) == shown(missing, nobodys), template
        assert "Traceback" not in bob.text

    assert [tuple(r) for r in raw.execute("SELECT * FROM cases")] == before  # nothing moved
    assert raw.execute("SELECT count(*) FROM events").fetchone()[0] == events
    await bob.send("/cases")
    assert theirs_number not in bob.text
    raw.close()
    await store.close()


async def test_on_telegram_the_reply_to_someone_elses_number_is_byte_identical(
    tmp_path: Path,
) -> None:
    settings = bot_settings(tmp_path, telegram_album_wait=0.2)
    fake = FakeBotAPI()
    alice, bob = fake.add_user("Alice"), fake.add_user("Bob")
    alice_chat, bob_chat = Chat(fake, alice), Chat(fake, bob)
    async with running_bot(fake, settings):
        await walk_on_telegram(alice_chat)
        number = await finish_sms(alice_chat, "跳过")
        other = number[:-1] + ("2" if number[-1] != "2" else "3")
        theirs = await bob_chat.say(f"/case {number}", "没有找到")
        missing = await bob_chat.say(f"/case {other}", "没有找到")
        bob.press(theirs.message_id, f"g:case:{number}", check=False)
        pressed_theirs = await bob_chat.expect("没有找到")
        bob.press(missing.message_id, f"g:case:{other}", check=False)
        pressed_missing = await bob_chat.expect("没有找到")
    for a, b in ((theirs, missing), (pressed_theirs, pressed_missing)):
        assert (a.text or "").replace(number, "N").encode() == (b.text or "").replace(
            other, "N"
        ).encode()
        assert a.buttons == b.buttons == []
