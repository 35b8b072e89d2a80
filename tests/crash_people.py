"""The simulated people of the crash tests: each files SMS complaints with two screenshots.

A person answers whatever the bot asked last, as a person would: after a silence from a running
bot they send /start and continue (a nudge, counted). Each notes what it gave to every question
and how far the bot went, so the checks (crash_checks.py) can hold the database to it.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from fake_telegram import FakeBotAPI, FakeUser, SentMessage, make_png

from storage import case_numbers

JSON = dict[str, Any]

PEOPLE = 3
PHOTOS = 2  # screenshots per complaint
PATIENCE = 1.5  # seconds a person waits for an answer from a running bot before nudging it
SMS = "短信：垃圾、诈骗、收不到验证码"
FILED = re.compile(rf"投诉已提交，编号 ({case_numbers.ANY.pattern})")
REMINDER = re.compile(rf"⏰ 投诉 ({case_numbers.ANY.pattern})：.*答复你了吗")
STEP = re.compile(r"（(\d+)/11）")
SUMMARY, DONE = 12, 13  # progress after the eleventh question: the summary, then filed


class Reachable(Protocol):
    """The bot as a person sees it: `up` is set while some process of it is answering."""

    up: asyncio.Event


@dataclass
class Round:
    """One complaint a person began: what they answered, and how far the bot confirmed it."""

    number: int
    given: dict[int, Any] = field(default_factory=dict)  # question -> the answer, as saved
    furthest: int = 0  # the furthest question the bot has asked in this round

    def confirmed(self) -> dict[int, Any]:
        """Return the answers the bot moved past: it asked a later question."""
        return {step: value for step, value in self.given.items() if step < self.furthest}


@dataclass
class Person:
    """A person who files SMS complaints by answering whatever the bot asked last."""

    index: int
    user: FakeUser
    fake: FakeBotAPI
    rounds: list[Round] = field(default_factory=list)
    confirmed_photos: set[int] = field(default_factory=set)
    announced: list[tuple[str, int]] = field(default_factory=list)  # (case number, round)
    regressions: list[str] = field(default_factory=list)
    steps_confirmed: int = 0
    nudges: int = 0
    pending_photo: int | None = None  # the screenshot sent last, not yet acknowledged
    filed_seen: int = -1  # index of the newest "filed" message already read
    updates: list[JSON] = field(default_factory=list)  # every update this person sent

    @property
    def round(self) -> int:
        return len(self.rounds)

    @property
    def current(self) -> Round:
        return self.rounds[-1] if self.rounds else Round(0)

    @property
    def sender(self) -> str:
        return f"1069012345670{self.index}"

    def content(self, round_: int) -> str:
        return f"第{self.index}位用户第{round_}次收到的积分清零短信"

    def photo(self, round_: int, number: int) -> bytes:
        return make_png(20 + self.index * PHOTOS + number, 10 + round_)

    def photo_hashes(self, round_: int) -> list[str]:
        return sorted(hashlib.sha256(self.photo(round_, n)).hexdigest() for n in range(PHOTOS))

    def messages(self) -> list[SentMessage]:
        """What the bot said in the conversation (reminders come on their own; they are counted)."""
        return [m for m in self.fake.sent_to(self.user.id) if not REMINDER.search(m.text or "")]

    def snapshot(self) -> tuple[int, int]:
        sent = self.messages()
        return len(sent), len(sent[-1].history) if sent else 0

    def answer(self, step: int, saved: Any) -> None:
        """Note what is given to question `step`, in the form the case will keep it."""
        self.current.given[step] = saved

    def press(self, message: SentMessage, label: str) -> None:
        exact = next((shown for shown in message.button_labels if label in shown), None)
        if exact is None:  # not the message it looked like: ask the bot where we are
            self.nudge()
        else:
            self.updates.append(self.user.press(message, label=exact))

    def say(self, text: str) -> None:
        self.updates.append(self.user.send_text(text))

    def progress(self, text: str) -> int | None:
        if FILED.search(text):
            return DONE
        if "请核对你的投诉" in text:
            return SUMMARY
        steps = STEP.findall(text)
        return int(steps[-1]) if steps else None

    def act(self) -> bool:
        """Answer the bot's last message; return False once a complaint was filed."""
        sent = self.messages()
        if not sent:
            self.updates.append(self.user.send_command("start"))
            return True
        last = sent[-1]
        # After "filed" come the letter and, the first time, the name question: the filing is
        # what this person reads first.
        filed = [
            i for i, m in enumerate(sent) if i > self.filed_seen and FILED.search(m.text or "")
        ]
        if filed:
            self.filed_seen = filed[-1]
            last = sent[filed[-1]]
        text, labels = last.text or "", last.button_labels
        step = self.progress(text)
        now = self.current
        if step is not None:
            if step < now.furthest:
                self.regressions.append(
                    f"round {self.round}: asked question {step} after {now.furthest}"
                )
            elif step > now.furthest:
                self.steps_confirmed += 1
            now.furthest = max(now.furthest, step)
        if step == DONE:
            found = FILED.search(text)
            assert found is not None
            if (found[1], self.round) not in self.announced:
                self.announced.append((found[1], self.round))
            return False
        if any(SMS in label for label in labels):  # the menu: a new complaint
            self.rounds.append(Round(self.round + 1))
            self.confirmed_photos = set()
            self.press(last, SMS)
        elif any("继续填写" in label for label in labels):
            self.press(last, "继续填写")
        elif step == 1:
            self.answer(1, "spam")
            self.press(last, "垃圾 / 骚扰短信")
        elif step == 2:
            self.answer(2, self.sender)
            self.say(self.sender)
        elif step == 3:
            self.answer(3, "昨天")
            self.say("昨天")
        elif step == 4:
            self.answer(4, "daily")
            self.press(last, "每天都有")
        elif step == 5:
            self.answer(5, self.content(self.round))
            self.say(self.content(self.round))
        elif step == 6:
            self.answer(6, "not_tried")
            self.press(last, "没有退订过")
        elif step in (7, 9):  # when and how many; the number that received them
            self.answer(step, None)
            self.press(last, "跳过")
        elif step == 8:
            self.answer(8, "mobile")
            self.press(last, "中国移动")
        elif step == 10:
            self.send_evidence(text, last)
        elif step == 11:
            chosen = "✅ 停止给我发短信" in labels
            self.answer(11, ["stop_sending"])
            self.press(last, "完成" if chosen else "停止给我发短信")
        elif step == SUMMARY:
            self.press(last, "提交投诉")
        else:  # an error, or something unexpected: start again from where the bot is
            self.nudge()
        return True

    def send_evidence(self, text: str, last: SentMessage) -> None:
        if total := re.search(r"共 (\d+) 份证据", text):
            self.confirmed_photos |= set(range(int(total[1])))
        elif "之前已经收到了" in text and self.pending_photo is not None:
            self.confirmed_photos.add(self.pending_photo)  # saved before a crash, not told
        missing = [n for n in range(PHOTOS) if n not in self.confirmed_photos]
        if missing:
            self.pending_photo = missing[0]
            self.updates.append(self.user.send_photo(self.photo(self.round, missing[0])))
        else:
            self.answer(10, self.photo_hashes(self.round))
            self.press(last, "完成")

    def nudge(self) -> None:
        self.nudges += 1
        self.updates.append(self.user.send_command("start"))


async def play(person: Person, bot: Reachable, keep_going: asyncio.Event) -> None:
    """File complaints until told to stop; then finish the one in progress."""
    while True:
        before = person.snapshot()
        if not person.act() and not keep_going.is_set():
            return
        if person.current.furthest == DONE:  # filed: start the next one from the menu
            person.updates.append(person.user.send_command("new"))
        waited = 0.0
        while person.snapshot() == before:
            await asyncio.sleep(0.05)
            waited = waited + 0.05 if bot.up.is_set() else 0.0
            if waited >= PATIENCE:  # no answer from a running bot: the message was lost
                person.nudge()
                before, waited = person.snapshot(), 0.0
        # An answer comes in parts (the pressed question edited, advice, the next question):
        # read it once it is complete, as a person would.
        while (seen := person.snapshot()) != before:
            before = seen
            await asyncio.sleep(0.1)
