"""Button data: `TURN:VERB[:ARG]`, short enough for Telegram's 64-byte callback_data.

TURN is the conversation's step counter when the button was drawn; a button whose TURN is not the
current one is stale. `g` marks global buttons (view a case, start over) that never expire.
"""

from __future__ import annotations

from dataclasses import dataclass

GLOBAL = "g"


@dataclass(frozen=True, slots=True)
class Press:
    """A decoded button press."""

    turn: str
    verb: str
    arg: str = ""

    @property
    def is_global(self) -> bool:
        return self.turn == GLOBAL


def encode(turn: int | str, verb: str, arg: str = "") -> str:
    """Return the callback data of a button."""
    return f"{turn}:{verb}:{arg}" if arg else f"{turn}:{verb}"


def data_number(text: str) -> int | None:
    """Return a whole number written in button data, None for anything else: isdigit() alone
    accepts "²" or "٣", which int() then refuses, and a client can send any data."""
    return int(text) if text.isascii() and text.isdigit() else None


def decode(data: str) -> Press | None:
    """Return the press, or None when the data is not ours (garbage or a very old format)."""
    parts = data.split(":", 2)
    if len(parts) < 2 or not parts[1]:
        return None
    turn = parts[0]
    if turn != GLOBAL and data_number(turn) is None:
        return None
    return Press(turn, parts[1], parts[2] if len(parts) == 3 else "")
