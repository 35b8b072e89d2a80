"""The simulated people of the crash tests: each files SMS complaints with two screenshots.

A person answers whatever the bot asked last, as a person would: after a silence from a running
bot they send /start and continue (a nudge, counted). What they answer, and what they note of
every question and how far the bot went, is their `Script` (crash_checks.py), the same one the
Telegram and WeChat crash tests play; here it is played on the fake Bot API for the failover and
worker tests, and the checks (failover_checks.py) hold the database to it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Protocol

from crash_checks import DONE, FILED, JSON, REMINDER, SMS, Script
from fake_telegram import FakeBotAPI, FakeUser, SentMessage, make_png

__all__ = [
    "DONE",
    "FILED",
    "JSON",
    "PEOPLE",
    "PHOTOS",
    "REMINDER",
    "SMS",
    "Person",
    "play",
]

PEOPLE = 3
PHOTOS = 2  # screenshots per complaint
PATIENCE = 1.5  # seconds a person waits for an answer from a running bot before nudging it


class Reachable(Protocol):
    """The bot as a person sees it: `up` is set while some process of it is answering."""

    up: asyncio.Event


@dataclass
class Person:
    """A person on the fake Bot API who does what their `Script` (crash_checks.py) says."""

    index: int
    user: FakeUser
    fake: FakeBotAPI
    script: Script = field(init=False)
    updates: list[JSON] = field(default_factory=list)  # every update this person sent

    def __post_init__(self) -> None:
        self.script = Script(self.index, PHOTOS, self.photo)

    def photo(self, round_: int, number: int) -> bytes:
        return make_png(20 + self.index * PHOTOS + number, 10 + round_)

    def messages(self) -> list[SentMessage]:
        """What the bot said in the conversation (reminders come on their own; they are counted)."""
        return [m for m in self.fake.sent_to(self.user.id) if not REMINDER.search(m.text or "")]

    def snapshot(self) -> tuple[int, int]:
        sent = self.messages()
        return len(sent), len(sent[-1].history) if sent else 0

    def press(self, message: SentMessage, label: str) -> None:
        exact = next((shown for shown in message.button_labels if label in shown), None)
        if exact is None:  # not the message it looked like: ask the bot where we are
            self.nudge()
        else:
            self.updates.append(self.user.press(message, label=exact))

    def act(self) -> bool:
        """Answer the bot's last message; return False once a complaint was filed."""
        sent = self.messages()
        if not sent:
            self.updates.append(self.user.send_command("start"))
            return True
        action = self.script.next([(m.text or "", m.button_labels) for m in sent])
        if action.kind == "filed":
            return False
        if action.kind == "press":
            self.press(sent[action.index], str(action.value))
        elif action.kind == "say":
            self.updates.append(self.user.send_text(str(action.value)))
        elif action.kind == "photo":
            photo = self.photo(self.script.round, int(action.value))
            self.updates.append(self.user.send_photo(photo))
        else:  # an error, or something unexpected: start again from where the bot is
            self.nudge()
        return True

    def nudge(self) -> None:
        self.script.nudges += 1
        self.updates.append(self.user.send_command("start"))


async def play(person: Person, bot: Reachable, keep_going: asyncio.Event) -> None:
    """File complaints until told to stop; then finish the one in progress."""
    while True:
        before = person.snapshot()
        if not person.act() and not keep_going.is_set():
            return
        if person.script.current.furthest == DONE:  # filed: start the next one from the menu
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
