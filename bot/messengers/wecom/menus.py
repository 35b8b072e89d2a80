"""Buttons without inline keyboards: a msgmenu to tap, or numbered lines to answer by number.

WeCom's msgmenu holds at most 10 items of at most 128 bytes each, with an id of at most 64
bytes that comes back as the click's `menu_id`: the button's data, so a click needs no state.
What a typed number or label presses is `bot.messengers.numbered.OnScreen`, shared with the
console; how the buttons look (a menu, "1. label" lines) and the Chinese command words are
WeChat's, here.
"""

from __future__ import annotations

from typing import Any

from bot.messengers.numbered import OnScreen
from flows.model import Button

MAX_ITEMS = 10
MAX_LABEL = 128  # bytes
MAX_ID = 64  # bytes
MAX_HEAD = 1024  # bytes of text above the items

# Said instead of a slash command, where the person is not asked to type something else.
COMMAND_WORDS = {
    "新投诉": "/new",
    "我的案件": "/cases",
    "帮助": "/help",
    "取消": "/cancel",
    "删除我的数据": "/forget",
}


def fits_menu(buttons: list[Button]) -> bool:
    """Return True when these buttons can be one msgmenu."""
    return 0 < len(buttons) <= MAX_ITEMS and all(
        0 < len(b.label.encode()) <= MAX_LABEL - 4 and 0 < len(b.data.encode()) <= MAX_ID
        for b in buttons
    )


def numbered(buttons: list[Button]) -> str:
    """Return buttons as numbered lines ("1. label")."""
    return "\n".join(f"{index}. {b.label}" for index, b in enumerate(buttons, start=1))


def listed(buttons: list[Button]) -> str:
    """Return buttons as lines to answer by label (where a number would be an answer)."""
    return "\n".join(f"· {b.label}" for b in buttons)


def command(screen: OnScreen, text: str) -> str | None:
    """Return the slash command a Chinese command word stands for, where one may be said."""
    if screen.question and not screen.numbered:  # a typed answer is expected: words are answers
        return None
    return COMMAND_WORDS.get(text.strip())


def screen_of(data: dict[str, Any] | None) -> OnScreen:
    """Return the screen saved with a person (also in the form saved before OnScreen)."""
    if data and "buttons" in data:  # {"buttons", "numbered", "older"}: rows written earlier
        data = {
            "question": data["buttons"],
            "numbered": bool(data.get("numbered")),
            "labels": [*data["buttons"], *data.get("older", [])],
        }
    return OnScreen.from_json(data)
