"""Buttons without inline keyboards: a msgmenu to tap, or numbered lines to answer by number.

WeCom's msgmenu holds at most 10 items of at most 128 bytes each, with an id of at most 64
bytes that comes back as the click's `menu_id`: the button's data, so a click needs no state.
A typed number presses a button of the last question (only when that question does not expect
typed text, so "100" stays an amount), and a typed label presses the button it names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.messengers.numbered import normalise
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


@dataclass(frozen=True, slots=True)
class MenuState:
    """The buttons on the person's screen: the last question's, numbered or not, then older."""

    buttons: tuple[Button, ...] = ()
    numbered: bool = False
    older: tuple[Button, ...] = ()

    def press(self, text: str) -> Button | None:
        """Return the button a typed text presses, or None when it is an ordinary answer."""
        stripped = text.strip()
        if self.numbered and stripped.isdigit() and 1 <= int(stripped) <= len(self.buttons):
            return self.buttons[int(stripped) - 1]
        on_screen = [*self.buttons, *self.older]
        exact = next((b for b in on_screen if b.label.strip() == stripped), None)
        if exact is not None:
            return exact
        wanted = normalise(stripped)
        if not wanted:
            return None
        return next((b for b in on_screen if normalise(b.label) == wanted), None)

    def command(self, text: str) -> str | None:
        """Return the slash command a Chinese command word stands for, where one may be said."""
        if self.buttons and not self.numbered:  # a typed answer is expected: words are answers
            return None
        return COMMAND_WORDS.get(text.strip())

    def to_json(self) -> dict[str, Any]:
        return {
            "buttons": [[b.label, b.data] for b in self.buttons],
            "numbered": self.numbered,
            "older": [[b.label, b.data] for b in self.older],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> MenuState:
        if not data:
            return cls()
        return cls(
            tuple(Button(label, value) for label, value in data.get("buttons", [])),
            bool(data.get("numbered")),
            tuple(Button(label, value) for label, value in data.get("older", [])),
        )
