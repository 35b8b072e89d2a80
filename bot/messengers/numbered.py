"""Buttons where a messenger has none: numbered lines, pressed by typing a number or a label.

Used by the console, and by any messenger without inline buttons (WeChat when a menu does not
fit). Keep one `NumberedButtons` per conversation: it remembers what was last shown.

Where a typed answer is expected (`Reply.expects_text`), buttons are listed without numbers so
that "100" is an amount, not button 100; they are pressed by their label. Any button of the
last answer can be pressed by its label, as in a messenger where they stay on screen.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from flows.model import Button, Reply

_NOT_WORD = re.compile(r"[^\w]+")
NUMBERED = "  {number}. {label}"
UNNUMBERED = "  · {label}"


def normalise(label: str) -> str:
    """Return `label` as compared with what was typed: letters and digits only, casefolded."""
    return _NOT_WORD.sub("", label).casefold()


class NumberedButtons:
    """Show one conversation's buttons as lines, and read a typed line back as a press."""

    def __init__(self) -> None:
        self.buttons: list[Button] = []  # the buttons a number presses (the question's)
        self.numbered = True
        self.labels: list[Button] = []  # every button of the last answer, the newest first

    def turn(self, replies: Sequence[Reply]) -> list[list[str]]:
        """Return the button lines of each reply of one answer, and remember them.

        The last reply with buttons is the one a number answers; the others' are listed too.
        """
        active = max((i for i, r in enumerate(replies) if r.buttons), default=None)
        lines = [self.lines(reply, active=index == active) for index, reply in enumerate(replies)]
        labels = [b for r in reversed(replies) for row in r.buttons for b in row]
        if labels:
            self.labels = labels
        return lines

    def lines(self, reply: Reply, *, active: bool) -> list[str]:
        """Return the reply's buttons as lines, numbered if they are the ones to press."""
        buttons = [button for row in reply.buttons for button in row]
        numbered = active and not reply.expects_text
        if active:
            self.buttons, self.numbered = buttons, numbered
        form = NUMBERED if numbered else UNNUMBERED
        return [form.format(number=i, label=b.label) for i, b in enumerate(buttons, start=1)]

    def press(self, text: str) -> Button | None:
        """Return the button a typed line presses: its number, its label or its label's words."""
        text = text.strip()
        if self.numbered and text.isdigit() and 1 <= int(text) <= len(self.buttons):
            return self.buttons[int(text) - 1]
        on_screen = [*self.buttons, *self.labels]
        exact = next((b for b in on_screen if b.label.strip() == text), None)
        if exact is not None:  # labels of emoji only (the rating stars) normalise to nothing
            return exact
        wanted = normalise(text)
        if not wanted:
            return None
        return next((b for b in on_screen if normalise(b.label) == wanted), None)
