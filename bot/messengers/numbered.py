"""Buttons where a messenger has none: numbered lines, pressed by typing a number or a label.

Used by the console, and by any messenger without inline buttons (WeChat when a menu does not
fit). What a person has on screen is an `OnScreen` value, one per conversation: immutable and
saved as JSON by a messenger that must remember it across restarts.

Where a typed answer is expected (`Reply.expects_text`), buttons are listed without numbers so
that "100" is an amount, not button 100; they are pressed by their label. Any button of the
last answer can be pressed by its label, as in a messenger where they stay on screen.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flows.definition.typed_text import typed_number
from flows.model import Button, Reply

_NOT_WORD = re.compile(r"[^\w]+")
NUMBERED = "  {number}. {label}"
# Noticing a list one was not waiting for (a reminder), reading it and typing an answer takes
# at least this long: a number typed sooner may be meant for the list before it.
READING = timedelta(seconds=3)
UNNUMBERED = "  · {label}"


def normalise(label: str) -> str:
    """Return `label` as compared with what was typed: letters and digits only, casefolded."""
    return _NOT_WORD.sub("", label).casefold()


def lines(buttons: Sequence[Button], *, numbered: bool) -> list[str]:
    """Return buttons as lines to print under a text: "  1. label", or "  · label"."""
    form = NUMBERED if numbered else UNNUMBERED
    return [form.format(number=i, label=b.label) for i, b in enumerate(buttons, start=1)]


def _flat(reply: Reply) -> tuple[Button, ...]:
    return tuple(button for row in reply.buttons for button in row)


def question(replies: Sequence[Reply]) -> int | None:
    """Return the index of the reply whose buttons a typed number presses: the last with any."""
    return max((i for i, r in enumerate(replies) if r.buttons), default=None)


@dataclass(frozen=True, slots=True)
class OnScreen:
    """The buttons a person can press by typing: the question's, then all of the last answer."""

    question: tuple[Button, ...] = ()  # the buttons a number presses
    numbered: bool = True  # False where a typed answer is expected
    labels: tuple[Button, ...] = ()  # every button of the last answer, the newest first

    def show(self, replies: Sequence[Reply]) -> tuple[list[list[str]], OnScreen]:
        """Return the button lines of each reply of one answer, and what is on screen after it.

        The last reply with buttons is the question a number answers; the others' are listed.
        """
        active = question(replies)
        shown = [
            lines(_flat(reply), numbered=index == active and not reply.expects_text)
            for index, reply in enumerate(replies)
        ]
        return shown, self.after(replies)

    def after(self, replies: Sequence[Reply]) -> OnScreen:
        """Return what is on screen once one answer's replies are shown."""
        active = question(replies)
        screen = self
        if active is not None:
            screen = screen.asking(replies[active])
        labels = tuple(b for reply in reversed(replies) for b in _flat(reply))
        if labels:
            screen = OnScreen(screen.question, screen.numbered, labels)
        return screen

    def asking(self, reply: Reply) -> OnScreen:
        """Return the screen once `reply` (a question, or a reminder) is the one to answer."""
        return OnScreen(_flat(reply), not reply.expects_text, self.labels)

    def press(self, text: str) -> Button | None:
        """Return the button a typed line presses: its number, its label or its label's words."""
        text = text.strip()
        if (number := self.number(text)) is not None:
            return self.question[number - 1]
        on_screen = [*self.question, *self.labels]
        exact = next((b for b in on_screen if b.label.strip() == text), None)
        if exact is not None:  # labels of emoji only (the rating stars) normalise to nothing
            return exact
        wanted = normalise(text)
        if not wanted:
            return None
        return next((b for b in on_screen if normalise(b.label) == wanted), None)

    def number(self, text: str) -> int | None:
        """Return the item number `text` presses, None when it is not one of this list's."""
        number = typed_number(text) if self.numbered else None
        return number if number is not None and 1 <= number <= len(self.question) else None

    def to_json(self) -> dict[str, Any]:
        """Return this screen as JSON data, to be saved with the conversation."""
        return {
            "question": [[b.label, b.data] for b in self.question],
            "numbered": self.numbered,
            "labels": [[b.label, b.data] for b in self.labels],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> OnScreen:
        """Return the screen saved by `to_json` (an empty one for None)."""
        if not data:
            return cls()
        return cls(
            tuple(Button(label, value) for label, value in data.get("question", [])),
            bool(data.get("numbered", True)),
            tuple(Button(label, value) for label, value in data.get("labels", [])),
        )
