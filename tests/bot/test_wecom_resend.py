"""Nothing said is lost when the bot dies mid-turn on WeChat, and WeCom's 5 are never overrun.

Each test files an SMS complaint through the fake WeCom, breaks the bot at one point of a
turn (the filing, or the letter: 5 messages, the rest on 继续), starts it again on the same
database, and checks what the person reads and that WeCom refused no send:
- the turn was kept and nothing sent: it goes out after the restart;
- one message went out and the bot died before forgetting it: sending it again would be the
  6th message, so what fits goes out ending in "reply 继续", and 继续 brings the rest;
- the step committed and the turn was never kept: the person is told the case it filed and
  where the conversation stands;
- an unexpected error while handling: the person is asked to send it again, in their language.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from crash_checks import FILED
from test_wecom_end_to_end import messages_of
from test_wecom_transcripts import WecomSession
from wecom_chat import WecomBot, quick_bot

import bot.messengers.wecom.messenger as wecom_messenger
from flows.errors import StorageError
from flows.model import ConversationKey

MORE = "回复「继续」"


@pytest.fixture
async def bot(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[WecomBot]:
    """A bot on SQLite, or on PostgreSQL for a test parametrized with "postgres"."""
    async with quick_bot(tmp_path, request) as running:
        yield running


FILING = "提交投诉"  # the answer that files the complaint
LETTER = "不留电话"  # the last answer after filing: the letter comes (5 messages and 继续)


async def up_to(bot: WecomBot, answer: str) -> WecomSession:
    """Go through an SMS complaint up to `answer` (not sent); return the session."""
    session = WecomSession(bot)
    script = [*messages_of("sms_spam"), "不写姓名", LETTER]
    for text in script[: script.index(answer)]:
        await session.send(text)
    session.person.new()
    return session


async def restart(bot: WecomBot) -> None:
    """Stop the bot as a kill would leave it (nothing more sent) and start it again."""
    await bot.stop()
    await bot.start()
    await bot.settle()


def filed_numbers(session: WecomSession) -> set[str]:
    """Return the case numbers the person was told were filed."""
    return {m[1] for d in session.person.inbox if (m := FILED.search(d.text))}


async def died_with_the_turn_kept(bot: WecomBot, answer: str = FILING) -> WecomSession:
    """Go up to `answer` and send it; the bot keeps its turn and dies before sending any of it.
    Return the session."""
    session = await up_to(bot, answer)
    assert bot.messenger is not None

    async def killed(*args: Any, **kwargs: Any) -> int:
        raise StorageError("the process died here")

    bot.messenger._send_kept = killed  # type: ignore[method-assign]
    assert await bot.say(session.person, answer) == ""  # kept, not sent
    return session


async def test_a_turn_kept_and_never_sent_goes_out_after_a_restart(bot: WecomBot) -> None:
    session = await died_with_the_turn_kept(bot)
    await restart(bot)
    read = [m.shown for m in session.person.new()]
    assert read and FILED.search(read[0]), read
    assert "姓名" in read[-1]  # then the next question
    assert bot.fake.refusals == []


# On PostgreSQL too: it runs every new statement (keep, send one, forget one, keep again).
@pytest.mark.parametrize("bot", ["sqlite", "postgres"], indirect=True)
async def test_a_turn_cut_short_after_a_send_is_resent_within_the_quota(bot: WecomBot) -> None:
    session = await up_to(bot, LETTER)
    assert bot.messenger is not None
    state = bot.messenger.state
    unkeep = state.unkeep

    async def died_after_the_first_send(*args: Any) -> None:
        state.unkeep = unkeep  # type: ignore[method-assign]
        raise StorageError("the process died here")

    state.unkeep = died_after_the_first_send  # type: ignore[method-assign]
    await session.person.send_text(LETTER)
    await bot.settle()
    first = [m.shown for m in session.person.new()]
    assert len(first) == 1 and "投诉信" in first[0], first
    await bot.jump(timedelta(seconds=2))  # the follow-up falls due: no room for it now
    await restart(bot)
    assert [r.reason for r in bot.fake.refusals] == []
    again = [m.shown for m in session.person.new()]
    # It may not have reached the person: it goes again, with what fits in the 4 left.
    assert len(again) == 4 and again[0] == first[0] and MORE in again[-1], again
    rest = await bot.say(session.person, "继续")
    assert "⏰" in rest  # the follow-up goes first on their next message
    while MORE in rest:
        rest = await bot.say(session.person, "继续")
    files = [m.file_name for m in session.person.inbox if m.file_name]
    assert any(name and name.endswith(".txt") for name in files), files  # the letter
    assert bot.fake.refusals == []


async def test_a_step_committed_whose_turn_was_never_kept_is_answered_after_a_restart(
    bot: WecomBot,
) -> None:
    session = await up_to(bot, FILING)
    assert bot.messenger is not None

    async def died_before_keeping(*args: Any) -> None:
        raise StorageError("the process died here")

    bot.messenger.state.keep_turn = died_before_keeping  # type: ignore[method-assign]
    assert await bot.say(session.person, FILING) == ""
    assert bot.services is not None
    cases = await bot.services.store.list_cases(ConversationKey("wecom", session.person.id))
    assert len(cases) == 1  # filed, and the person was never told
    await restart(bot)
    read = "\n".join(m.shown for m in session.person.new())
    assert filed_numbers(session) == {cases[0].number}, read
    assert bot.fake.refusals == []


async def test_an_unexpected_error_asks_the_person_to_send_it_again(
    bot: WecomBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    chinese, english = bot.customer("wmChinese"), bot.customer("wmEnglish")
    await bot.say(chinese, "/start")
    await bot.say(english, "/start")
    await bot.say(english, "/lang en")

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug in the messenger")

    monkeypatch.setattr(wecom_messenger, "to_incoming", broken)
    assert (await bot.say(chinese, "2")).startswith("抱歉，出了点问题")
    assert (await bot.say(english, "2")).startswith("Sorry, something went wrong")
    monkeypatch.undo()
    for person in (chinese, english):  # nothing stuck: the menu comes back
        assert "1." in await bot.say(person, "/start")
    assert bot.fake.refusals == []


async def test_an_error_after_the_answer_was_saved_does_not_ask_for_it_again(
    bot: WecomBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = bot.customer("wmSaved")
    await bot.say(person, "/start")
    assert bot.messenger is not None

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug after the engine answered")

    monkeypatch.setattr(bot.messenger, "_with_invite", broken)
    answer = await bot.say(person, "2")  # the SMS category: its step commits, then the bug
    monkeypatch.undo()
    assert answer.startswith("抱歉，出了点问题") and "已经保存了" in answer, answer
    assert "请再发一次" not in answer, answer
    assert bot.services is not None
    conversation = await bot.services.store.load_conversation(ConversationKey("wecom", person.id))
    assert conversation is not None and conversation.state is not None  # the SMS intake began
    assert bot.fake.refusals == []
