"""Someone who opens the chat without writing is greeted once (enter_session's welcome_code).

WeCom allows one text or menu message per welcome_code, once, within 20 s of the event, and
gives a code only to someone neither greeted nor sent anything in 48 hours; the fake enforces
all of it and records a broken rule in `refusals`.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from wecom_chat import wecom_bot


async def test_opening_the_chat_greets_once_within_20_seconds_with_the_start_menu(
    tmp_path: Path,
) -> None:
    async with wecom_bot(tmp_path) as bot:
        alice = bot.customer()
        await alice.enter_session("poster1")
        await bot.settle()
        [greeting] = alice.new()
        assert greeting.msgtype == "msgmenu"
        assert "遇到了什么问题" in greeting.text  # the start text, in the default language
        assert any("短信" in label for _, label in greeting.menu)
        # The event pulled again (the cursor lost) does not use its code a second time...
        conn = sqlite3.connect(bot.settings.storage_db_path)
        conn.execute("DELETE FROM wecom_cursors")
        conn.commit()
        conn.close()
        await bot.callbacks.notify(alice.open_kfid)  # type: ignore[union-attr]
        await bot.settle()
        # ...and opening the chat again within 48 hours brings no code, so no greeting.
        bot.clock.advance(timedelta(hours=1))
        await alice.enter_session()
        await bot.settle()
        assert alice.new() == []
        assert bot.fake.refusals == []
        # The menu is on their screen: a typed number presses it, as after any question.
        assert "（1/" in await bot.say(alice, "2")

        # A code found after its 20 seconds (the callback lost, the safety pull 5 minutes
        # later) is refused by WeCom: no greeting, and they are answered when they write.
        assert bot.callbacks is not None
        bot.callbacks.lose = 1
        bob = bot.customer("wmCustomerBob01")
        await bob.enter_session()
        bot.clock.advance(timedelta(minutes=5))
        await bot.settle()
        assert bob.inbox == []
        assert [r.reason for r in bot.fake.refusals] == ["welcome_code past 20 s"]
        assert "遇到了什么问题" in await bot.say(bob, "你好")
