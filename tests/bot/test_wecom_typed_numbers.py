"""A typed number on WeChat presses an item of the list the person saw when they wrote it.

Not of a newer list they had not seen: a reminder held for their message and sent first in
the same turn, the answer to a first message pulled with it, or a reminder that went out while
their message was on its way. Where the list they saw is not known (written within seconds of
a reminder that came on its own, or the list before is lost), the number is not taken and they
are asked to answer again. A number written after the list is taken as always, also
when the server's clock is off from WeCom's.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fake_wecom import FakeWecom
from test_wecom_end_to_end import messages_of
from test_wecom_transcripts import WecomSession
from wecom_chat import NOW, WecomBot, wecom_bot

from bot.clock import ManualClock
from bot.messengers.wecom.unseen import BEFORE
from flows.model import ConversationKey

UNSEEN = {
    "zh": "可能是在上面最新的一组选项到达之前写的",
    "en": "may have been written before my latest list",
}
EXPIRED = {"zh": "这个选项已经过期了", "en": "That option has expired"}
FOLLOW_UP = {"zh": "答复你了吗", "en": "answered you?"}
SPAM = {"zh": "垃圾 / 骚扰短信", "en": "Spam or harassing texts"}


async def filed(session: WecomSession) -> None:
    """File the SMS transcript's complaint, unsigned."""
    for text in [*messages_of("sms_spam"), "不写姓名", "不留电话"]:
        await session.send(text)
        if any(n.endswith(".txt") for n in session.files):
            return
    raise AssertionError("the complaint was never filed")


async def case_state(session: WecomSession) -> str:
    cases = await session.cases()
    return str(cases[0]["state"])


async def problem(bot: WecomBot, session: WecomSession) -> Any:
    """Return the answer to the SMS question "what exactly is happening" in progress."""
    assert bot.services is not None
    key = ConversationKey("wecom", session.person.id)
    conversation = await bot.services.store.load_conversation(key)
    assert conversation is not None
    return conversation.answers.get("problem")


async def due_follow_up(bot: WecomBot) -> datetime:
    assert bot.services is not None
    due = await bot.services.store.next_due_at(audience="wecom")
    assert due is not None
    return due


async def asked_a_second_complaint(bot: WecomBot, session: WecomSession, language: str) -> datetime:
    """File one complaint, then start one about texts up to its first question ("1. 垃圾 /
    骚扰短信"), a minute before the first one's follow-up falls due (their window open then).
    Return when it falls due."""
    await filed(session)
    await session.send(f"/lang {language}")
    due = await due_follow_up(bot)
    bot.clock.set(due - timedelta(minutes=1))
    await session.send("/new")
    asked = await session.send("2")
    assert f"1. {SPAM[language]}" in asked, asked
    return due


def text(content: str) -> dict[str, Any]:
    """Return a text message as the person writes it."""
    return {"msgtype": "text", "text": {"content": content}}


async def test_a_number_answered_with_a_held_reminder_answers_the_question_they_saw(
    tmp_path: Path,
) -> None:
    async with wecom_bot(tmp_path) as bot:
        session = WecomSession(bot)
        await filed(session)
        await session.send("/new")
        asked = await session.send("2")  # a second complaint, about texts: what exactly?
        assert "2. 诈骗短信" in asked, asked
        due = await due_follow_up(bot)
        # Past the deadline and the 48-hour window: the follow-up waits for their next message.
        bot.clock.set(due + timedelta(minutes=1))
        assert bot.services is not None
        await bot.services.scheduler.settle()
        assert session.person.new() == []
        # Their "2" (诈骗短信) comes; the follow-up goes out first in that turn, and its item 2
        # is "😐 答复了，但我不满意", about the first complaint. The "2" meant the question.
        output = await session.send("2")
        assert FOLLOW_UP["zh"] in output, output
        assert await problem(bot, session) == "fraud", output
        assert "12321" in output  # the advice for scam texts
        assert await case_state(session) == "follow_up"  # asked, not answered "unsatisfied"
        assert bot.fake.refusals == []


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_a_second_number_pulled_with_the_first_presses_the_list_it_was_written_to(
    language: str, tmp_path: Path
) -> None:
    async with wecom_bot(tmp_path) as bot:
        session = WecomSession(bot)
        await session.send(f"/lang {language}")
        await session.send("/start")
        # Both written to the category menu before the bot pulls: the "1" is its item 1, which
        # the "2" (texts) made stale, never item 1 of the texts question they had not seen.
        fake, person = bot.fake, session.person
        fake.customer_wrote(person.open_kfid, person.id, text("2"))
        fake.customer_wrote(person.open_kfid, person.id, text("1"))
        assert bot.callbacks is not None
        await bot.callbacks.notify(person.open_kfid)
        await bot.settle()
        output = "\n".join(m.shown for m in person.new())
        assert EXPIRED[language] in output, output  # and the question, asked again
        assert await problem(bot, session) is None  # "1" answered nothing


@pytest.mark.parametrize(
    ("known", "language"),
    [(True, "zh"), (False, "zh"), (False, "en")],
    ids=["list-before-kept", "list-before-unknown", "list-before-unknown-en"],
)
async def test_a_number_written_before_a_reminder_went_out_does_not_answer_it(
    known: bool, language: str, tmp_path: Path
) -> None:
    async with wecom_bot(tmp_path) as bot:
        session = WecomSession(bot)
        due = await asked_a_second_complaint(bot, session, language)
        # They write "1" (垃圾短信) to that question; WeCom tells the bot only after the
        # follow-up, due meanwhile, went out with "1. ✅ 已解决".
        bot.clock.set(due)
        person = session.person
        bot.fake.customer_wrote(person.open_kfid, person.id, text("1"))
        bot.clock.set(due + timedelta(seconds=5))
        assert bot.services is not None and bot.messenger is not None
        await bot.services.scheduler.settle()
        assert FOLLOW_UP[language] in "\n".join(m.shown for m in person.new())
        if not known:  # a screen saved before the list before it was kept
            state = await bot.messenger.state.person(person.id)
            menu = {k: v for k, v in state.menu.items() if k != BEFORE}
            await bot.messenger.state.save_screen(person.id, person.open_kfid, menu, state.pages)
        assert bot.callbacks is not None
        await bot.callbacks.notify(person.open_kfid)
        await bot.settle()
        output = "\n".join(m.shown for m in person.new())
        assert await case_state(session) == "follow_up", output  # not marked resolved
        if known:
            assert await problem(bot, session) == "spam", output
        else:  # not taken at all: they answer again
            assert UNSEEN[language] in output, output
            assert await problem(bot, session) is None
        assert bot.fake.refusals == []


@pytest.mark.parametrize(
    ("after", "language"),
    [(0, "zh"), (2, "en"), (4, "zh"), (4, "en")],
    ids=["same-second", "2s-en", "4s-answers-it", "4s-answers-it-en"],
)
async def test_a_number_written_as_a_reminder_comes_on_its_own_is_not_taken_for_either_list(
    after: int, language: str, tmp_path: Path
) -> None:
    async with wecom_bot(tmp_path) as bot:
        session = WecomSession(bot)
        due = await asked_a_second_complaint(bot, session, language)
        # The follow-up, "1. ✅ 已解决" first, goes out on its own while they read that question.
        bot.clock.set(due)
        assert bot.services is not None
        await bot.services.scheduler.settle()
        person = session.person
        assert FOLLOW_UP[language] in "\n".join(m.shown for m in person.new())
        # Their "1" comes `after` seconds later: too soon to have read the follow-up, it may be
        # the question's 垃圾短信 or the follow-up's 已解决. Neither is taken; they are asked.
        bot.clock.set(due + timedelta(seconds=after))
        bot.fake.customer_wrote(person.open_kfid, person.id, text("1"))
        assert bot.callbacks is not None
        await bot.callbacks.notify(person.open_kfid)
        await bot.settle()
        output = "\n".join(m.shown for m in person.new())
        assert await problem(bot, session) is None, output  # the question not answered
        if after < 3:
            assert await case_state(session) == "follow_up", output  # nor the follow-up
            assert UNSEEN[language] in output, output
            # As told, they send the words of the option they meant: the question's.
            output = await session.send(SPAM[language])
            assert await problem(bot, session) == "spam", output
            assert await case_state(session) == "follow_up", output
        else:  # long enough to have read it: the follow-up's item 1
            assert await case_state(session) == "resolved", output
            assert UNSEEN[language] not in output, output
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
        assert "（1/" in output, output  # the texts complaint's first question
        output = await session.send("2")
        assert "（2/" in output, output
        assert await problem(bot, session) == "fraud"
    finally:
        await bot.stop()
