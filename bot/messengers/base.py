"""What every messenger is to the app: the `Messenger` Protocol, its `Limits`, and the `Host`.

A messenger (Telegram, the console, WeChat...) turns what a person does into `Incoming`, hands
it to the host (the app, which asks the engine) and sends the `Reply` list back within its
limits. The app builds every messenger in `bot/app.py` and gives it what it needs; a messenger
never opens storage, reads settings or imports the app.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from flows.model import ConversationKey, Incoming, Reply
from flows.ports import InboxStore
from flows.records import CaseChange, Reminder


class Measure(enum.Enum):
    """How a messenger counts the length of a text."""

    CHARS = "chars"  # Unicode code points
    UTF16 = "utf16"  # UTF-16 code units (Telegram): an emoji outside the BMP counts twice
    BYTES = "bytes"  # UTF-8 bytes (WeChat): a Chinese character counts three times

    def length(self, text: str) -> int:
        """Return the length of `text` as this messenger counts it."""
        if self is Measure.CHARS:
            return len(text)
        if self is Measure.UTF16:
            return len(text.encode("utf-16-le")) // 2
        return len(text.encode("utf-8"))

    def fitting(self, text: str, limit: int) -> int:
        """Return how many characters of `text` fit in `limit` units."""
        if self is Measure.CHARS:
            return min(len(text), max(limit, 0))
        used = 0
        for index, char in enumerate(text):
            used += self._units(ord(char))
            if used > limit:
                return index
        return len(text)

    def _units(self, code: int) -> int:
        if self is Measure.UTF16:
            return 2 if code > 0xFFFF else 1  # outside the BMP: a surrogate pair
        return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4


class ButtonStyle(enum.Enum):
    """How a messenger shows the buttons under a reply."""

    INLINE = "inline"  # tappable buttons that send their data back (Telegram)
    NUMBERED = "numbered"  # numbered lines; typing a number or a label presses one (console)
    MENU = "menu"  # a tappable menu message, numbered lines when it does not fit (WeChat)


@dataclass(frozen=True, slots=True)
class Limits:
    """What a messenger accepts in one turn; `bot.messengers.fitting` fits replies to it."""

    max_text: int  # the longest text of one message, in `measure` units
    measure: Measure = Measure.CHARS
    buttons_per_message: int | None = None  # None: no limit
    messages_per_turn: int | None = None  # answers to one message of the person (None: any)
    can_edit: bool = False  # a reply may replace the message whose button was pressed
    buttons: ButtonStyle = ButtonStyle.NUMBERED


class Delivery(enum.Enum):
    """What happened when a reminder was sent."""

    SENT = "sent"
    UNREACHABLE = "unreachable"  # the person blocked the bot, or is gone
    RETRY = "retry"  # a transient failure
    # The person cannot be reached now (WeChat's 48-hour window is closed): the messenger
    # holds it for their next message, and the scheduler leaves it alone meanwhile.
    DEFERRED = "deferred"


class Receiver(Protocol):
    """Whatever answers a message: the engine, or the app in front of it."""

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Answer one message with the replies to send."""
        ...


class Host(Receiver, Protocol):
    """The app as a messenger sees it: answers, and the words it says on its own."""

    @property
    def languages(self) -> Sequence[str]:
        """Return the languages the bot speaks, the default first."""
        ...

    @property
    def default_language(self) -> str:
        """Return the language used before a person chose one."""
        ...

    async def language(self, key: ConversationKey) -> str:
        """Return the language this person reads (the default if unknown or unreadable)."""
        ...

    def text(self, name: str, language: str) -> str:
        """Return the bot's text `name` (e.g. "slow_down", "cmd_new") in `language`."""
        ...

    def command_menu(self, language: str) -> Sequence[tuple[str, str]]:
        """Return the commands to show in a menu, (name, description) in `language`."""
        ...

    # A messenger that holds reminders for later (WeChat, outside its 48-hour window) sends
    # them itself when the person writes again; these are the scheduler's words for it.

    async def reminder_prompt(self, reminder: Reminder) -> Reply | None:
        """Return what a due reminder asks its case's owner, or None if it no longer applies."""
        ...

    async def reminder_delivered(self, reminder: Reminder) -> bool:
        """Mark a reminder sent with its record on the case; False if it had been already."""
        ...

    async def reminder_delivery(self, reminder: Reminder) -> list[CaseChange]:
        """Return what sending a reminder records on its case, for a messenger that marks it
        sent in its own transaction (with the messages it keeps to send)."""
        ...

    # A messenger that keeps what it receives before acknowledging it (Telegram) answers
    # from its inbox, and sends what its outbox kept, through these two.

    @property
    def mailbox(self) -> InboxStore:
        """Return where updates are kept before they are acknowledged, and replies until sent."""
        ...

    async def handle_recovered(self, incoming: Incoming, since: datetime) -> list[Reply]:
        """Answer a message kept (at `since`) before a restart, which may have been handled.

        Handled before (its step committed, its replies lost with the process): say where
        the conversation stands instead, the cases it filed first. Otherwise as `handle`.
        """
        ...


class Messenger(Protocol):
    """A place people chat with the bot; `name` is the messenger of their ConversationKey."""

    name: str
    limits: Limits

    async def start(self, host: Host) -> None:
        """Start receiving: hand every message to `host` and send its replies back."""
        ...

    async def stop(self) -> None:
        """Stop receiving; what is being answered is finished first where the messenger can."""
        ...

    async def send_replies(
        self, key: ConversationKey, chat_id: str, replies: Sequence[Reply]
    ) -> None:
        """Send replies to a person's chat, fitted to the limits (bot.messengers.fitting)."""
        ...

    async def deliver_reminder(self, reminder: Reminder, reply: Reply) -> Delivery:
        """Send a due reminder to its person; say whether it went out."""
        ...
