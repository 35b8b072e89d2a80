"""Typed numbers written before the list they would press reached the person.

On WeChat a typed "1" presses item 1 of the newest list on screen (`OnScreen`). When that list
came after the person wrote "1", they meant an item of an older list, and taking it against the
newest one picks something they never chose: a category, or "已解决" on a reminder (whose
buttons never expire). Such a number is not taken; the person is asked to answer again.

A number is known to predate the newest list when:
- that list was added in the same turn, before the number was answered (a reminder held for
  the person's next message, or the answer to an earlier message pulled with it): everything
  pulled together was written before the turn that answers it was sent; or
- the person wrote it (WeCom's `send_time`, whole seconds, WeCom's clock) at least a second
  before the bot kept that list to send (the bot's clock). The two clocks are compared through
  `ClockOffset`, so a server clock that is off does not make every number look early.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.messengers.numbered import OnScreen

SHOWN_AT = "shown_at"  # key of the saved screen: when its question was first kept to send
# send_time is truncated to the second, so a number is "earlier" only with a second to spare.
_MARGIN = timedelta(seconds=1)
_SAMPLES = 64


class ClockOffset:
    """How far the bot's clock runs ahead of WeCom's, as an upper bound from recent pulls.

    Each pulled message was written before it was pulled, so `pulled - send_time` is at least
    the offset plus the delay; the smallest of the recent ones is the tightest bound. With no
    sample yet there is no bound, and no number is judged by the clocks.
    """

    def __init__(self) -> None:
        self._lags: deque[timedelta] = deque(maxlen=_SAMPLES)

    def observe(self, pulled_at: datetime, written: datetime) -> None:
        """Note that a message written at `written` (WeCom's clock) was pulled at `pulled_at`."""
        self._lags.append(pulled_at - written)

    def as_ours(self, written: datetime) -> datetime | None:
        """Return the latest the bot's clock can have read when a message was written."""
        if not self._lags:
            return None
        return written + min(self._lags)


def written_at(body: dict[str, Any]) -> datetime | None:
    """Return when the person wrote a pulled message (WeCom's clock), None for an event."""
    when = body.get("send_time")
    if body.get("msgtype") == "event" or not isinstance(when, int | float) or when <= 0:
        return None
    return datetime.fromtimestamp(int(when), UTC)


def saved(screen: OnScreen, before: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
    """Return the screen to save, with when its question was first kept to send."""
    data = screen.to_json()
    old = OnScreen.from_json(before)
    same = (old.question, old.numbered) == (screen.question, screen.numbered)
    if same and before and before.get(SHOWN_AT):
        data[SHOWN_AT] = before[SHOWN_AT]  # the same list again: it was there since then
    elif screen.question:
        data[SHOWN_AT] = now.isoformat()
    return data


def shown_at(data: dict[str, Any] | None) -> datetime | None:
    """Return when a saved screen's question was first kept to send (None: not known)."""
    raw = (data or {}).get(SHOWN_AT)
    if not isinstance(raw, str):
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        return None


def number(screen: OnScreen, text: str | None) -> int | None:
    """Return the item number `text` would press on `screen`, None when it is not one."""
    if text is None:
        return None
    text = text.strip()
    if not (screen.numbered and text.isascii() and text.isdigit()):
        return None
    return int(text) if 1 <= int(text) <= len(screen.question) else None


@dataclass(frozen=True, slots=True)
class Seen:
    """The list a person had on screen when this turn began, and when it was kept to send."""

    screen: OnScreen
    since: datetime | None

    def predates(self, now_on_screen: OnScreen, ours: datetime | None) -> bool:
        """Return True when a number written at `ours` (bot's clock) cannot mean this list."""
        if (now_on_screen.question, now_on_screen.numbered) != (
            self.screen.question,
            self.screen.numbered,
        ):
            return True  # the list changed in this turn, after the message was written
        return ours is not None and self.since is not None and ours + _MARGIN <= self.since
