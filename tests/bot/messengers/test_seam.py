"""The Messenger seam: messengers get what they need from the app, reminders find their messenger."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.app import reminder_sender
from bot.messengers.base import ButtonStyle, Delivery, Host, Limits, Measure, Messenger
from flows.model import ConversationKey, Reply
from flows.records import Reminder

MESSENGERS = Path(__file__).parents[3] / "bot" / "messengers"
# A messenger is handed what it needs; it never opens, reads or builds the app's parts.
FORBIDDEN = ("bot.app", "bot.config", "bot.scheduler", "storage", "aiosqlite", "sqlite3")


def imported(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", sorted(MESSENGERS.rglob("*.py")), ids=lambda p: p.name)
def test_a_messenger_imports_neither_the_app_nor_its_settings_nor_storage(path: Path) -> None:
    wrong = sorted(
        name
        for name in imported(path)
        for bad in FORBIDDEN
        if name == bad or name.startswith(bad + ".")
    )
    assert wrong == [], f"{path.name} imports {wrong}"


class Recorder:
    """A messenger that records the reminders it is given."""

    limits = Limits(max_text=100)

    def __init__(self, name: str, result: Delivery = Delivery.SENT) -> None:
        self.name = name
        self.result = result
        self.reminders: list[tuple[str, str]] = []

    async def start(self, host: Host) -> None: ...

    async def stop(self) -> None: ...

    async def send_replies(
        self, key: ConversationKey, chat_id: str, replies: Sequence[Reply]
    ) -> None: ...

    async def deliver_reminder(self, reminder: Reminder, reply: Reply) -> Delivery:
        self.reminders.append((reminder.key.user_id, reply.text))
        return self.result


def reminder(messenger: str, user: str) -> Reminder:
    key = ConversationKey(messenger, user)
    return Reminder(
        1, "TS-2026-K7M4QJ", key, user, "zh", "deadline", datetime(2026, 12, 9, tzinfo=UTC)
    )


async def test_a_reminder_goes_out_through_the_messenger_of_its_person() -> None:
    telegram, wechat = Recorder("telegram"), Recorder("wecom", Delivery.UNREACHABLE)
    deliver = reminder_sender({"telegram": telegram, "wecom": wechat})
    assert (
        await deliver(reminder("wecom", "wm-1"), Reply("has it answered?")) is Delivery.UNREACHABLE
    )
    assert await deliver(reminder("telegram", "42"), Reply("有回复吗？")) is Delivery.SENT
    assert wechat.reminders == [("wm-1", "has it answered?")]
    assert telegram.reminders == [("42", "有回复吗？")]


async def test_a_reminder_for_a_messenger_not_running_here_waits() -> None:
    deliver = reminder_sender({"telegram": Recorder("telegram")})
    assert await deliver(reminder("wecom", "wm-1"), Reply("?")) is Delivery.RETRY


def built_messengers() -> dict[str, Any]:
    """Each real messenger, built as the app builds it (no network: nothing is started)."""
    from bot.clock import ManualClock
    from bot.messengers.console import Console
    from bot.messengers.telegram import TelegramMessenger, TelegramOptions
    from bot.messengers.wecom.messenger import WecomMessenger, WecomOptions

    clock = ManualClock(datetime(2026, 11, 22, tzinfo=UTC))
    unused: Any = None  # the API client, state and store: only kept, not called, until start
    return {
        "console": Console(Recorder("engine")),  # type: ignore[arg-type]
        "telegram": TelegramMessenger(TelegramOptions(token="123456:TEST-token")),
        "wecom": WecomMessenger(WecomOptions(), unused, unused, unused, clock=clock),
    }


def protocol_members() -> dict[str, inspect.Signature | None]:
    """Return the Messenger Protocol's members: a method's signature, None for an attribute."""
    members: dict[str, inspect.Signature | None] = dict.fromkeys(Messenger.__annotations__)
    for name, value in vars(Messenger).items():
        if inspect.isfunction(value) and not name.startswith("_"):
            members[name] = inspect.signature(value)
    return members


@pytest.mark.parametrize("name", ["console", "telegram", "wecom"])
def test_every_messenger_has_every_member_of_the_protocol(name: str) -> None:
    messenger = built_messengers()[name]
    for member, signature in protocol_members().items():
        assert hasattr(messenger, member), f"{name} has no {member}"
        if signature is None:
            continue
        method = getattr(messenger, member)
        assert inspect.iscoroutinefunction(method), f"{name}.{member} is not async"
        wanted = [p for p in signature.parameters if p != "self"]
        has = inspect.signature(method).parameters
        assert list(has)[: len(wanted)] == wanted, f"{name}.{member}{signature}"
        extra = list(has.values())[len(wanted) :]  # more is fine, if the app need not pass it
        assert all(p.default is not p.empty for p in extra), f"{name}.{member}: {extra}"
    assert messenger.name == name
    assert isinstance(messenger.limits, Limits)


def test_wechat_states_its_limits_as_every_messenger_does() -> None:
    limits = built_messengers()["wecom"].limits
    assert (limits.measure, limits.max_text, limits.messages_per_turn) == (Measure.BYTES, 2048, 5)
    assert (limits.buttons, limits.buttons_per_message, limits.can_edit) == (
        ButtonStyle.MENU,
        10,
        False,
    )
