"""A typed number on WeChat presses an item of the list the person had seen when they wrote it.

A number written before the newest list reached the person (a reminder held for their next
message and sent first in the same turn, a second message pulled with the first, a message
written before the bot's last list went out) is not taken against that list: the person is
told so and answers again. A number written after the list is taken as always, also when the
server's clock is off from WeCom's.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fake_wecom import FakeWecom
from test_wecom_end_to_end import messages_of
from test_wecom_transcripts import WecomSession
from wecom_chat import NOW, WecomBot, wecom_bot

from bot.clock import ManualClock
from flows.model import ConversationKey

UNSEEN = {"zh": "是在上面最新的一组选项发出之前写的", "en": "was written before my latest list"}
FOLLOW_UP = "答复你了吗"


async def filed(session: WecomSession) -> dict[str, Any]:
    """File the SMS transcript's complaint, unsigned; return the case."""
    for text in [*messages_of("sms_spam"), "不写姓名", "不留电话"]:
        await session.send(text)
        if any(n.endswith(".txt") for n in session.files):
            break
    (case,) = await session.cases()
    return case


async def status(session: WecomSession) -> str:
    (case,) = await session.cases()
    return str(case["state"])


async def test_a_number_answered_with_a_held_reminder_does_not_answer_the_reminder(
    tmp_path: Path,
) -> None:
    async with wecom_bot(tmp_path) as bot:
        session = WecomSession(bot)
        case = await filed(session)
        assert bot.services is not None
        due = await bot.services.store.next_due_at(audience="wecom")
        assert due is not None
        # Past the deadline and the 48-hour window: the follow-up waits for their next message.
        bot.clock.set(due + timedelta(minutes=1))
        await bot.services.scheduler.settle()
        assert session.person.new() == []
        # They write "1" (for whatever list they last saw); the follow-up goes out first in
        # that turn, and its item 1 is "✅ 已解决": the "1" was not meant for it.
        output = await session.send("1")
        assert FOLLOW_UP in output, output
        assert UNSEEN["zh"] in output, output
        assert case["state"] == "waiting"
        assert await status(session) == "follow_up"  # asked, not marked resolved
        # Now that they have seen it, "1" answers it.
        output = await session.send("1")
        assert UNSEEN["zh"] not in output, output
        assert await status(session) == "resolved", output
        assert bot.fake.refusals == []


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_a_second_number_pulled_with_the_first_is_not_taken_against_the_next_list(
    language: str, tmp_path: Path
) -> None:
    async with wecom_bot(tmp_path) as bot:
        session = WecomSession(bot)
        await session.send(f"/lang {language}")
        await session.send("/start")
        # Both written before the bot pulls: the answer to "2" is a list they never saw.
        fake, person = bot.fake, session.person
        fake.customer_wrote(person.open_kfid, person.id, text("2"))
        fake.customer_wrote(person.open_kfid, person.id, text("1"))
        assert bot.callbacks is not None
        await bot.callbacks.notify(person.open_kfid)
        await bot.settle()
        output = "\n".join(m.shown for m in person.new())
        assert UNSEEN[language] in output, output
        assert bot.services is not None
        key = ConversationKey("wecom", person.id)
        conversation = await bot.services.store.load_conversation(key)
        assert conversation is not None and conversation.state is not None
        assert conversation.answers == {}, conversation.answers  # "1" answered nothing


async def test_a_number_written_before_a_reminder_went_out_does_not_answer_it(
    tmp_path: Path,
) -> None:
    async with wecom_bot(tmp_path) as bot:
        session = WecomSession(bot)
        await filed(session)
        assert bot.services is not None
        due = await bot.services.store.next_due_at(audience="wecom")
        assert due is not None
        bot.clock.set(due - timedelta(minutes=1))
        await session.send("你好")  # their window is open when the follow-up falls due
        # They write "1" for what they see; WeCom tells the bot only after the follow-up,
        # due in the meantime, went out.
        bot.clock.set(due)
        person = session.person
        bot.fake.customer_wrote(person.open_kfid, person.id, text("1"))
        bot.clock.set(due + timedelta(seconds=5))
        await bot.services.scheduler.settle()
        assert FOLLOW_UP in "\n".join(m.shown for m in person.new())
        assert bot.callbacks is not None
        await bot.callbacks.notify(person.open_kfid)
        await bot.settle()
        output = "\n".join(m.shown for m in person.new())
        assert UNSEEN["zh"] in output, output
        assert await status(session) == "follow_up"  # not marked resolved
        assert bot.fake.refusals == []


async def test_numbers_are_taken_when_the_servers_clock_is_off_from_wecoms(
    tmp_path: Path,
) -> None:
    clock = ManualClock(NOW)
    # WeCom's clock ten minutes behind: every send_time looks ten minutes old to the bot.
    fake = FakeWecom(lambda: clock.now() - timedelta(minutes=10))
    bot = WecomBot(tmp_path, clock, fake)
    await bot.start()
    try:
        session = WecomSession(bot)
        await session.send("/start")
        output = await session.send("2")
        assert UNSEEN["zh"] not in output, output
        assert "（1/" in output, output  # the SMS complaint's first question
        output = await session.send("2")
        assert UNSEEN["zh"] not in output, output
        assert "（2/" in output, output
    finally:
        await bot.stop()


def text(content: str) -> dict[str, Any]:
    """Return a text message as the person writes it."""
    return {"msgtype": "text", "text": {"content": content}}
