"""What a typed line presses: the list the person had on screen when they wrote it.

On WeChat a typed "1" presses item 1 of a list (`OnScreen`). The newest list is not always the
one the person was looking at: a reminder held for their next message goes out first in the
turn that answers it, a second message pulled with the first was written before the answer to
the first, and a reminder may go out while their message is on its way. Taken against the
newest list, their "1" picks something they never chose: "✅ 已解决" on a reminder, whose
buttons never expire, or the first option of a question they have not read. So a typed number
is read against the list they saw: that list's button is pressed, and the engine takes it if it
still applies or says it expired and shows where the conversation is (`ask_current`). Digits
typed to a question that expects a typed answer (an amount) stay that answer. Words are not
ambiguous: a typed label presses the button it names on the newest screen, as before.

Which list they saw:
- everything pulled in one turn was written before that turn was sent: the list on screen
  when the turn began, not one added in it;
- a message written (WeCom's `send_time`, whole seconds, WeCom's clock) at least a second
  before that list was kept to send (the bot's clock) was written facing the list before it,
  which the saved screen keeps (`saved`). The clocks are compared through `ClockOffset`, so a
  server clock that is off does not make every message look early. Where the list before is
  not known (a screen saved by an older version), a typed number is not taken at all: the
  person is asked to answer again;
- a list that came on its own (a reminder sent by the scheduler, `PUSHED`), not in answer to
  them, is one they were not waiting for: a number written less than a few seconds after it
  went out (`READING`) may have been meant for the list they were reading before. Either
  reading may be wrong, and one of them marks a case resolved or closed, so the number is not
  taken: they are asked to answer again.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.messengers.numbered import READING, OnScreen

SHOWN_AT = "shown_at"  # key of a saved screen: when its question was first kept to send
BEFORE = "before"  # key of a saved screen: the screen its question replaced
PUSHED = "pushed"  # key of a saved screen: its list came on its own (a reminder)
# send_time is truncated to the second, so a message is "earlier" only with a second to spare.
_MARGIN = timedelta(seconds=1)
_SAMPLES = 64


class ClockOffset:
    """How far the bot's clock runs ahead of WeCom's, as an upper bound from recent pulls.

    Each pulled message was written before it was pulled, so `pulled - send_time` is at least
    the offset plus the delay; the smallest of the recent ones is the tightest bound. With no
    sample yet there is no bound, and no message is judged by the clocks.
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


def _same_list(a: OnScreen, b: OnScreen) -> bool:
    return (a.question, a.numbered) == (b.question, b.numbered)


def saved(
    screen: OnScreen, before: dict[str, Any] | None, now: datetime, *, pushed: bool = False
) -> dict[str, Any]:
    """Return the screen to save: with when its list was first kept to send, the one before,
    and whether it came on its own (`pushed`: a reminder, not an answer to the person)."""
    data = screen.to_json()
    old = OnScreen.from_json(before)
    if before and _same_list(old, screen):  # the same list again: it was there since then
        for key in (SHOWN_AT, BEFORE, PUSHED):
            if key in before:
                data[key] = before[key]
    elif screen.question:
        data[SHOWN_AT] = now.isoformat()
        data[BEFORE] = old.to_json()  # one list back is enough: replies come within seconds
        if pushed:
            data[PUSHED] = True
    return data


@dataclass(frozen=True, slots=True)
class Seen:
    """The screen when a turn began, when its list was kept to send, and the one before it."""

    screen: OnScreen
    since: datetime | None = None
    earlier: OnScreen | None = None
    pushed: bool = False

    @classmethod
    def of(cls, data: dict[str, Any] | None, screen: OnScreen) -> Seen:
        """Return what a saved screen (`screen`, read from `data`) says was seen, and when."""
        data = data or {}
        since = None
        if isinstance(raw := data.get(SHOWN_AT), str):
            try:
                since = datetime.fromisoformat(raw)
            except ValueError:
                since = None
        before = data.get(BEFORE)
        earlier = OnScreen.from_json(before) if isinstance(before, dict) else None
        return cls(screen, since, earlier, data.get(PUSHED) is True)

    def saw(self, ours: datetime | None) -> OnScreen | None:
        """Return the screen a message written at `ours` (bot's clock) was written facing.

        None when that is not known: it was written before the turn's screen and the one before
        is not known, or within seconds of a list that came on its own.
        """
        if ours is None or self.since is None:
            return self.screen
        if ours + _MARGIN <= self.since:
            return self.earlier
        if self.pushed and ours < self.since + READING:
            return None
        return self.screen
