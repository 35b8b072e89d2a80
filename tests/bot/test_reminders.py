"""Deadlines and follow-ups on Telegram: filed -> deadline passes -> asked -> each answer's outcome.

Time is a ManualClock: the scheduler sleeps on it, so a 15-day deadline passes in milliseconds.
The case is an SMS spam complaint with China Mobile as the carrier; its ladder starts with the
carrier (15 days, a rule) and climbs to the regulators.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fake_telegram import FakeBotAPI, FakeUser, SentMessage, running_application
from telegram_chat import Chat, bot_settings, file_sms, read_back, the_case, walk_sms_to_evidence

from bot.app import telegram_application
from bot.clock import ManualClock
from bot.config import Settings
from bot.scheduler import Scheduler
from flows.records import CaseRecord, Reminder

FILED_AT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
# 15 days for the carrier: their last day is 8 December; the question comes the next morning
# at 08:00 (midnight is inside quiet hours).
ASKED_AT = datetime(2026, 12, 9, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return bot_settings(tmp_path)


class Bot:
    """The running bot with its clock and scheduler, for one test."""

    def __init__(self, app: Any, clock: ManualClock) -> None:
        self.app = app
        self.clock = clock

    @property
    def scheduler(self) -> Scheduler:
        scheduler: Scheduler = self.app.bot_data["services_holder"]["services"].scheduler
        return scheduler

    async def at(self, moment: datetime) -> None:
        """Move time to `moment` and let the scheduler do what is due."""
        self.clock.set(moment)
        await self.scheduler.settle()


@asynccontextmanager
async def running(fake: FakeBotAPI, settings: Settings, clock: ManualClock) -> AsyncIterator[Bot]:
    app = telegram_application(
        settings, request=fake.make_request(), get_updates_request=fake.make_request(), clock=clock
    )
    async with running_application(app, allowed_updates=["message", "callback_query"]):
        yield Bot(app, clock)


async def file_sms_case(chat: Chat) -> tuple[str, SentMessage]:
    await walk_sms_to_evidence(chat)
    return await file_sms(chat, evidence="跳过")


async def read(
    settings: Settings, user: FakeUser, number: str
) -> tuple[CaseRecord, list[Reminder]]:
    case = await the_case(settings, user, number)
    reminders = await read_back(settings, lambda store: store.pending_reminders())
    return case, [r for r in reminders if r.case_number == number]


async def test_filing_says_where_to_go_and_by_when(settings: Settings) -> None:
    fake, clock = FakeBotAPI(), ManualClock(FILED_AT)
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    async with running(fake, settings, clock):
        number, filed = await file_sms_case(chat)
    assert "的期限是 15 天：到 12月8日为止" in (filed.text or "")
    assert "15 日内没有答复或答复不满意，就可以向 12300 申诉" in (filed.text or "")
    assert "10086" in (filed.text or "")  # how to reach China Mobile
    case, pending = await read(settings, alice, number)
    assert case.state == "waiting"
    assert case.due_at == datetime(2026, 12, 8, 16, 0, tzinfo=UTC)  # midnight after 8 Dec
    assert [(r.kind, r.due_at) for r in pending] == [("deadline", case.due_at)]
    last = case.events[-1]
    assert (last.kind, last.data) == (
        "deadline_set",
        {"channel": "china_mobile", "day": "2026-12-08"},
    )


@asynccontextmanager
async def at_the_question(settings: Settings) -> AsyncIterator[tuple[Chat, str, Bot]]:
    fake, clock = FakeBotAPI(), ManualClock(FILED_AT)
    chat = Chat(fake, fake.add_user("Alice"))
    async with running(fake, settings, clock) as bot:
        number, _ = await file_sms_case(chat)
        await bot.at(ASKED_AT - timedelta(minutes=1))
        assert not [m for m in chat._new() if "答复你了吗" in (m.text or "")]
        await bot.at(ASKED_AT)
        question = await chat.expect("答复你了吗")
        assert number in (question.text or "")
        assert question.button_labels == [
            "✅ 已解决",
            "😐 答复了，但我不满意",
            "🔇 没有答复",
            "⏰ 过几天再提醒我",
            "🗂 关闭投诉",
        ]
        yield chat, number, bot


async def test_resolved_asks_for_a_rating_and_a_comment(settings: Settings) -> None:
    async with at_the_question(settings) as (chat, number, _bot):
        await chat.choose("✅ 已解决", "已标记为解决")
        await chat.choose("⭐⭐⭐⭐", "想补充一句评价")
        await chat.say("客服态度不错，三天就停了。", "评价已保存")
    case, pending = await read(settings, chat.user, number)
    assert (case.state, case.rating, case.comment) == ("resolved", 4, "客服态度不错，三天就停了。")
    assert case.due_at is None and pending == []


@pytest.mark.parametrize("outcome", ["😐 答复了，但我不满意", "🔇 没有答复"])
async def test_no_answer_or_unsatisfied_escalates_to_the_next_rung(
    settings: Settings, outcome: str
) -> None:
    async with at_the_question(settings) as (chat, number, _bot):
        # First what the carrier answered (or its ticket number), for the appeal; skippable.
        await chat.choose(outcome, "工单号" if "没有" in outcome else "是怎么答复的")
        escalated = await chat.choose("跳过", "升级了")
        assert "下一步" in (escalated.text or "")
    case, pending = await read(settings, chat.user, number)
    assert case.state == "escalated" and case.rung > 0
    assert [r.kind for r in pending] == ["deadline"] and pending[0].due_at == case.due_at
    assert {"escalated"} <= {e.kind for e in case.events}


async def test_remind_me_later_asks_again_after_the_chosen_days(settings: Settings) -> None:
    async with at_the_question(settings) as (chat, number, bot):
        await chat.choose("⏰ 过几天再提醒我", "几天后再提醒你")
        await chat.choose("3 天后", "再提醒你投诉")
        case, pending = await read(settings, chat.user, number)
        assert case.state == "follow_up"
        assert [(r.kind, r.due_at) for r in pending] == [("snooze", ASKED_AT + timedelta(days=3))]
        await bot.at(ASKED_AT + timedelta(days=3))
        await chat.expect("你要我再问的提醒")


async def test_close_ends_the_reminders(settings: Settings) -> None:
    async with at_the_question(settings) as (chat, number, bot):
        await chat.choose("🗂 关闭投诉", "已关闭")
        await bot.at(ASKED_AT + timedelta(days=60))
        await chat.fake.settle()
        assert not chat._new()
    case, pending = await read(settings, chat.user, number)
    assert case.state == "closed" and pending == []


async def test_a_second_press_of_an_answered_question_changes_nothing(settings: Settings) -> None:
    async with at_the_question(settings) as (chat, number, _bot):
        question = chat.button("🔇 没有答复")
        no_answer = question.callback_data("🔇 没有答复")
        await chat.choose("✅ 已解决", "已标记为解决")
        # A second client (or a double tap) still shows the old buttons and presses one.
        chat.user.press(question, no_answer, check=False)
        await chat.expect("这个选项不再适用")
    case, _ = await read(settings, chat.user, number)
    assert case.state == "resolved"


async def test_i_sent_it_and_they_replied_from_the_case_view(settings: Settings) -> None:
    fake, clock = FakeBotAPI(), ManualClock(FILED_AT)
    chat = Chat(fake, fake.add_user("Alice"))
    async with running(fake, settings, clock) as bot:
        number, _ = await file_sms_case(chat)
        await bot.at(FILED_AT + timedelta(days=2))
        view = await chat.say(f"/case {number}", "答复期限")
        assert "第 1/" in (view.text or "")
        sent = await chat.choose("📤 我已发出投诉", "已记录")
        assert "到 12月10日为止" in (sent.text or "")  # the 15 days restart from today
        await chat.expect("工单号")  # then the ticket number is asked for
        await chat.say("1120123456", "工单号记下了")
        await chat.say(f"/case {number}", "时间线")
        await chat.choose("📨 对方已答复", "解决你的问题了吗")
        await chat.choose("✅ 已解决", "已标记为解决")
    case, pending = await read(settings, chat.user, number)
    assert case.state == "resolved" and pending == []
    assert [e.kind for e in case.events][-3:] == ["sent", "ticket", "resolved"]
    assert case.events[-2].data == {"channel": "china_mobile", "ticket": "1120123456"}


async def test_a_reminder_due_while_the_bot_was_down_is_sent_once(settings: Settings) -> None:
    fake, clock = FakeBotAPI(), ManualClock(FILED_AT)
    chat = Chat(fake, fake.add_user("Alice"))
    async with running(fake, settings, clock):
        number, _ = await file_sms_case(chat)
    clock.set(ASKED_AT + timedelta(hours=3))  # the bot is down when the deadline passes
    async with running(fake, settings, clock) as bot:
        await bot.scheduler.settle()
        await chat.expect("答复你了吗")
    async with running(fake, settings, clock) as bot:  # and restarted once more
        await bot.scheduler.settle()
        await fake.settle()
    asked = [m for m in chat.user.received if "答复你了吗" in (m.text or "")]
    assert len(asked) == 1
    case, pending = await read(settings, chat.user, number)
    assert case.state == "follow_up" and pending == []


async def test_quiet_hours_hold_a_reminder_until_the_morning(settings: Settings) -> None:
    evening = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    quiet = settings.replace(deadline_override="30m")  # due at 23:30
    fake, clock = FakeBotAPI(), ManualClock(evening)
    chat = Chat(fake, fake.add_user("Alice"))
    async with running(fake, quiet, clock) as bot:
        await file_sms_case(chat)
        await bot.at(evening + timedelta(minutes=31))
        await bot.at(datetime(2026, 11, 23, 23, 59, tzinfo=UTC))  # 07:59
        await fake.settle()
        assert not [m for m in chat._new() if "答复你了吗" in (m.text or "")]
        await bot.at(datetime(2026, 11, 24, 0, 0, tzinfo=UTC))  # 08:00
        await chat.expect("答复你了吗")


async def test_a_person_who_blocked_the_bot_is_not_retried(settings: Settings) -> None:
    fake, clock = FakeBotAPI(), ManualClock(FILED_AT)
    chat = Chat(fake, fake.add_user("Alice"))
    async with running(fake, settings, clock) as bot:
        number, _ = await file_sms_case(chat)
        chat.user.block_bot()
        await bot.at(ASKED_AT)
        await bot.at(ASKED_AT + timedelta(days=1))
    attempts = [c for c in fake.calls("sendMessage") if "答复你了吗" in str(c.params.get("text"))]
    assert len(attempts) == 1
    _, pending = await read(settings, chat.user, number)
    assert pending == []


async def test_passing_over_the_ticket_question_still_escalates(settings: Settings) -> None:
    async with at_the_question(settings) as (chat, number, _bot):
        await chat.choose("🔇 没有答复", "工单号")
        # The person does something else instead: the case must not wait on the question.
        escalated = await chat.say("/cases", "升级了")
        assert "下一步" in (escalated.text or "")
    case, pending = await read(settings, chat.user, number)
    assert case.state == "escalated" and case.rung > 0
    assert [r.kind for r in pending] == ["deadline"]
