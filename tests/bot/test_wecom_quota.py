"""WeCom's 5 messages per message the person wrote are never overrun, whatever comes between.

WeChat counts the bot's sends from the moment the person writes; the bot learns of that message
only when it pulls it. Each test builds one way the bot's count could fall behind WeChat's (a
message handed out again, a kept turn sent again after a restart while the person wrote
meanwhile, a reminder falling due while a turn is being made or before the first pull after a
start, a reminder whose answer from WeCom was lost) and checks that WeCom refused nothing and
that what could not go out at once still reaches the person on their next message (继续).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from crash_checks import FILED
from crash_checks import REMINDER as FOLLOW_UP
from fake_telegram import make_png
from test_wecom_end_to_end import messages_of
from test_wecom_resend import FILING, LETTER, MORE, died_with_the_turn_kept, restart, up_to
from test_wecom_transcripts import WecomSession
from wecom_chat import WecomBot, quick_bot

import bot.messengers.wecom.messenger as wecom_messenger
from bot.messengers.base import Host
from bot.messengers.wecom.api import WecomError
from bot.messengers.wecom.messenger import UNREACHABLE
from flows.model import ConversationKey, Incoming, Reply
from flows.records import Reminder

REMINDER = "⏰"


@pytest.fixture
async def bot(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[WecomBot]:
    """A bot on SQLite, or on PostgreSQL for a test parametrized with "postgres"."""
    async with quick_bot(tmp_path, request) as running:
        yield running


def refused(bot: WecomBot) -> list[str]:
    return [f"{r.person}: {r.reason}" for r in bot.fake.refusals]


def last_written(bot: WecomBot, session: WecomSession) -> str:
    """Return the msgid of the newest message the person wrote."""
    kfid = bot.fake.open_kfids[0]
    mine = [
        m["msgid"]
        for m in bot.fake.messages[kfid]
        if m.get("external_userid") == session.person.id and m.get("msgtype") != "event"
    ]
    return str(mine[-1])


async def read_the_rest(bot: WecomBot, session: WecomSession) -> str:
    """Say 继续 until nothing waits; return everything read."""
    read = await bot.say(session.person, "继续")
    everything = read
    while MORE in read:
        read = await bot.say(session.person, "继续")
        everything += "\n" + read
    return everything


async def read_to_the_letter(bot: WecomBot, session: WecomSession) -> None:
    """Say 继续 until nothing waits, and check that the letter's file came."""
    rest = await read_the_rest(bot, session)
    files = [m.file_name for m in session.person.inbox if m.file_name]
    assert any(name and name.endswith(".txt") for name in files), (files, rest)


async def with_a_follow_up_held(bot: WecomBot) -> WecomSession:
    """Walk to the letter, which uses the 5; the follow-up then falls due and is held."""
    session = await up_to(bot, LETTER)
    assert MORE in await bot.say(session.person, LETTER)  # the 5 are used
    await bot.jump(timedelta(seconds=2))  # the follow-up falls due: held for their next message
    assert session.person.new() == []
    return session


class HostDuring:
    """The app, doing `during()` after it answered a message and before the turn is sent."""

    def __init__(self, host: Host, during: Callable[[], Awaitable[None]]) -> None:
        self._host = host
        self._during = during

    def __getattr__(self, name: str) -> Any:
        return getattr(self._host, name)

    async def handle(self, incoming: Incoming) -> list[Reply]:
        replies = await self._host.handle(incoming)
        await self._during()
        return replies


# On PostgreSQL too: the same statements open (or do not open) a new window there, and count
# what is kept in it.
@pytest.mark.parametrize("bot", ["sqlite", "postgres"], indirect=True)
async def test_a_message_handed_out_again_gives_no_fresh_five_and_takes_nothing_waiting(
    bot: WecomBot,
) -> None:
    session = await up_to(bot, LETTER)
    letter = await bot.say(session.person, LETTER)
    assert MORE in letter  # the 5 are used: the rest waits for 继续
    kfid = bot.fake.open_kfids[0]
    bot.fake.redeliver(kfid, [last_written(bot, session)])  # the same msgid again
    assert bot.callbacks is not None
    await bot.callbacks.notify(kfid)
    await bot.settle()
    assert session.person.new() == []  # handled before: no answer
    await bot.jump(timedelta(seconds=2))  # the follow-up falls due: still no room for it
    assert refused(bot) == []
    assert session.person.new() == []
    rest = await read_the_rest(bot, session)
    assert REMINDER in rest  # it went out on their next message
    assert "发短信举报" in rest  # and what waited for 继续 still waited (the SMS report)
    assert refused(bot) == []


@pytest.mark.parametrize("bot", ["sqlite", "postgres"], indirect=True)
async def test_a_message_answered_with_an_apology_and_handed_out_again_is_not_answered_twice(
    bot: WecomBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A message that failed into an apology is not recorded as handled, so its msgid handed out
    # again is new to the bot; WeChat counts the apology in that message's window all the same.
    session = await up_to(bot, LETTER)

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug in the messenger")

    monkeypatch.setattr(wecom_messenger, "to_incoming", broken)
    assert (await bot.say(session.person, LETTER)).startswith("抱歉，出了点问题")  # 1 of 5
    monkeypatch.undo()
    kfid = bot.fake.open_kfids[0]
    bot.fake.redeliver(kfid, [last_written(bot, session)])
    assert bot.callbacks is not None
    await bot.callbacks.notify(kfid)
    await bot.settle()
    assert session.person.new() == []  # asked to send it again: the copy is not answered too
    assert refused(bot) == []
    letter = await bot.say(session.person, LETTER)  # as they were asked
    assert MORE in letter, letter
    assert "发短信举报" in await read_the_rest(bot, session)
    assert refused(bot) == []


async def test_a_file_wecom_could_not_give_and_handed_out_again_is_not_answered_twice(
    bot: WecomBot,
) -> None:
    person = bot.customer("wmFiles")
    await bot.say(person, "/start")
    bot.fake.fail_next("media/get", 500)
    await person.send_image(make_png())
    await bot.settle()
    assert "没能取到" in "\n".join(m.shown for m in person.new())
    kfid = bot.fake.open_kfids[0]
    images = [m["msgid"] for m in bot.fake.messages[kfid] if m.get("msgtype") == "image"]
    bot.fake.redeliver(kfid, images)
    assert bot.callbacks is not None
    await bot.callbacks.notify(kfid)
    await bot.settle()
    assert person.new() == []  # told once: the copy opens no window and gets no answer
    assert refused(bot) == []


async def test_a_continue_handed_out_again_is_not_answered(bot: WecomBot) -> None:
    person = bot.customer("wmLongReader")
    await bot.say(person, "/start")
    assert bot.messenger is not None
    long = [Reply(f"第{i}段 " + "字" * 600) for i in range(12)]  # 12 messages of 1,800 bytes
    key = ConversationKey("wecom", person.id)
    await bot.messenger.send_replies(key, f"{bot.fake.open_kfids[0]}|{person.id}", long)
    assert MORE in person.new()[-1].text
    more = await bot.say(person, "继续")
    assert "第3段" in more and MORE in more
    kfid = bot.fake.open_kfids[0]
    continued = [m["msgid"] for m in bot.fake.messages[kfid] if m.get("msgtype") == "text"][-1]
    bot.fake.redeliver(kfid, [continued])  # the same 继续 again
    assert bot.callbacks is not None
    await bot.callbacks.notify(kfid)
    await bot.settle()
    assert person.new() == []  # handled before: no answer (and no apology)
    rest = await bot.say(person, "继续")
    assert "第7段" in rest and "第11段" in rest, rest
    assert "出了点问题" not in rest  # no apology for it waiting either
    assert refused(bot) == []


@pytest.mark.parametrize("bot", ["sqlite", "postgres"], indirect=True)
async def test_a_kept_turn_sent_after_a_restart_counts_in_the_window_of_a_message_written_meanwhile(
    bot: WecomBot,
) -> None:
    session = await died_with_the_turn_kept(bot, LETTER)
    await bot.stop()
    # While the bot is down the person writes again: WeChat's count starts over here, and what
    # was kept goes out after it.
    bot.fake.customer_wrote(bot.fake.open_kfids[0], session.person.id, _text("继续"))
    await bot.start()
    await bot.settle()
    assert refused(bot) == []
    read = [m.shown for m in session.person.new()]
    assert read and "投诉信" in read[0], read
    await read_to_the_letter(bot, session)
    assert refused(bot) == []


async def test_a_reminder_falling_due_while_a_turn_is_made_waits_for_the_turn(
    bot: WecomBot,
) -> None:
    session = await up_to(bot, LETTER)
    assert bot.messenger is not None and bot.services is not None
    messenger, scheduler = bot.messenger, bot.services.scheduler
    deliver = messenger.deliver_reminder
    delivering = asyncio.Event()

    async def watched(reminder: Reminder, reply: Reply) -> Any:
        delivering.set()
        return await deliver(reminder, reply)

    async def follow_up_falls_due() -> None:
        if delivering.is_set():
            return
        bot.clock.advance(timedelta(seconds=2))
        scheduler.notice(bot.clock.now())
        await delivering.wait()  # the scheduler is sending the follow-up now

    messenger.deliver_reminder = watched  # type: ignore[method-assign]
    messenger._host = HostDuring(messenger.host, follow_up_falls_due)  # type: ignore[assignment]
    letter = await bot.say(session.person, LETTER)
    await scheduler.settle()
    letter += "\n".join(m.shown for m in session.person.new())
    assert refused(bot) == []
    assert "投诉信" in letter
    rest = await read_the_rest(bot, session)
    assert REMINDER in letter + rest
    assert refused(bot) == []


async def test_a_message_written_while_a_reminder_is_being_sent_is_answered_after_it(
    bot: WecomBot,
) -> None:
    session = await up_to(bot, LETTER)
    assert bot.messenger is not None
    messenger = bot.messenger
    person = session.person.id
    counting, counted, answered = asyncio.Event(), asyncio.Event(), asyncio.Event()
    count_sent, handle_person = messenger.state.count_sent, messenger.handle_person

    async def count_when_told(*args: Any) -> None:
        if not counting.is_set():  # the follow-up: it has read the person's count
            counting.set()
            await counted.wait()
        await count_sent(*args)

    async def watched(*args: Any) -> None:
        await handle_person(*args)
        answered.set()

    messenger.state.count_sent = count_when_told  # type: ignore[method-assign]
    messenger.handle_person = watched  # type: ignore[method-assign]
    reminding = asyncio.create_task(bot.jump(timedelta(seconds=2)))  # the follow-up falls due
    await counting.wait()
    await session.person.click_menu(LETTER)  # pulled while the follow-up is on its way
    # The answer is made, or waits for the follow-up: then the follow-up goes on.
    while not (answered.is_set() or messenger._turns.waiting(person)):  # noqa: ASYNC110
        await asyncio.sleep(0)
    counted.set()
    await reminding
    await bot.settle()
    read = "\n".join(m.shown for m in session.person.new())
    assert refused(bot) == []
    assert REMINDER in read and "投诉信" in read, read
    await read_to_the_letter(bot, session)
    assert refused(bot) == []


async def test_a_reminder_due_at_a_start_waits_for_what_was_written_while_the_bot_was_down(
    bot: WecomBot,
) -> None:
    session = await up_to(bot, LETTER)
    await bot.stop()
    # While the bot is down the person writes (the callback is lost) and the follow-up of the
    # filed case falls due: at the start both are there.
    bot.fake.customer_wrote(bot.fake.open_kfids[0], session.person.id, _text(LETTER))
    bot.clock.advance(timedelta(seconds=2))
    # The first pull fails (WeCom refuses pulls after quick restarts): tried again in 2 s.
    bot.fake.fail_next("kf/sync_msg", 502)
    delivering = asyncio.Event()

    async def pull_again_once_the_reminder_is_on_its_way() -> None:
        await delivering.wait()
        assert bot.messenger is not None
        loop = bot.messenger.loops[bot.fake.open_kfids[0]]
        # The retry is timed from the failure: wait for it (a counter, polled in this test).
        while loop.failed == 0:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        bot.clock.advance(timedelta(seconds=3))

    moving = asyncio.create_task(pull_again_once_the_reminder_is_on_its_way())
    await bot.start()
    assert bot.messenger is not None and bot.services is not None
    deliver = bot.messenger.deliver_reminder

    async def watched(reminder: Reminder, reply: Reply) -> Any:
        delivering.set()
        return await deliver(reminder, reply)

    bot.messenger.deliver_reminder = watched  # type: ignore[method-assign]
    await bot.services.scheduler.settle()
    await moving
    await bot.settle()
    assert refused(bot) == []
    read = "\n".join(m.shown for m in session.person.new())
    assert "投诉信" in read
    rest = await read_the_rest(bot, session)
    assert REMINDER in read + rest
    assert refused(bot) == []


async def test_a_reminder_whose_answer_was_lost_stays_counted(bot: WecomBot) -> None:
    session = await up_to(bot, LETTER)
    assert bot.messenger is not None
    api = bot.messenger.api
    send = api.send_msg
    lost = []

    async def answer_lost(message: dict[str, Any]) -> Any:
        answer = await send(message)
        if not lost:  # WeCom took it, and its answer never came back
            lost.append(message)
            raise WecomError(UNREACHABLE, "timed out reading the answer")
        return answer

    api.send_msg = answer_lost  # type: ignore[method-assign]
    await bot.jump(timedelta(seconds=2))  # the follow-up falls due and goes out
    assert lost, "the follow-up was not sent"
    them = await bot.messenger.state.person(session.person.id)
    assert them.sent >= bot.fake.person(session.person.id).sent_since
    await restart(bot)
    letter = await bot.say(session.person, LETTER)
    assert "投诉信" in letter
    assert refused(bot) == []


def _text(content: str) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": content}}


@pytest.mark.parametrize("bot", ["sqlite", "postgres"], indirect=True)
async def test_a_held_reminder_kept_with_a_turn_wecom_did_not_take_goes_out_once(
    bot: WecomBot,
) -> None:
    session = await with_a_follow_up_held(bot)
    # Their 继续 is answered with the follow-up first; WeCom fails that send, so the turn stays
    # kept and goes out at the next pull. The follow-up is in it: it is not held again.
    bot.fake.fail_next("kf/send_msg", 500)
    await bot.say(session.person, "继续")
    assert bot.callbacks is not None
    await bot.callbacks.notify(bot.fake.open_kfids[0])
    await bot.settle()
    await read_the_rest(bot, session)
    await bot.say(session.person, "/help")
    reminders = [m.text for m in session.person.inbox if REMINDER in m.text]
    assert len(reminders) == 1, reminders
    assert refused(bot) == []


@pytest.mark.parametrize("bot", ["sqlite", "postgres"], indirect=True)
async def test_a_held_reminder_never_waits_behind_continue_where_a_new_answer_drops_it(
    bot: WecomBot,
) -> None:
    session = await with_a_follow_up_held(bot)
    kfid = bot.fake.open_kfids[0]
    # Their last message handed out again: a turn with no room, which must not take the
    # follow-up into what waits for 继续 (ended as sent there, and never shown).
    bot.fake.redeliver(kfid, [last_written(bot, session)])
    assert bot.callbacks is not None
    await bot.callbacks.notify(kfid)
    await bot.settle()
    assert session.person.new() == []
    # They ask something else instead of 继续: its answer replaces what waited.
    output = await bot.say(session.person, "/help")
    assert REMINDER in output, output
    reminders = [m.text for m in session.person.inbox if REMINDER in m.text]
    assert len(reminders) == 1, reminders
    assert refused(bot) == []


async def test_held_reminders_leave_room_for_the_start_of_the_answer(bot: WecomBot) -> None:
    session = WecomSession(bot)
    for round_ in range(4):  # four complaints, each with a follow-up due in a second
        sent = messages_of("sms_spam") + (["不写姓名", "不留电话"] if round_ == 0 else [])
        for text in sent:
            await session.send(text)
    assert len(await session.cases()) == 4
    fifth = messages_of("sms_spam")
    for text in fifth[: fifth.index(FILING)]:  # a fifth, left at its summary
        await session.send(text)
    session.person.new()
    # Two days away: every follow-up fell due with their window closed, and is held.
    await bot.jump(timedelta(hours=49))
    assert session.person.new() == []
    # They come back and file the fifth (typing the option's words): four follow-ups and the
    # filing's answer (more than one message) are more than WeChat's 5. The filing's first
    # message goes now, with the follow-ups that fit; the rest of the answer waits for 继续,
    # and the fourth follow-up for their next message (继续 is one).
    output = await bot.say(session.person, FILING)
    assert FILED.search(output), output
    assert MORE in output, output
    assert len(FOLLOW_UP.findall(output)) == 3, output
    assert len(await session.cases()) == 5
    await read_to_the_letter(bot, session)
    follow_ups = [m.text for m in session.person.inbox if FOLLOW_UP.search(m.text)]
    assert len(follow_ups) == 4, follow_ups
    assert refused(bot) == []
