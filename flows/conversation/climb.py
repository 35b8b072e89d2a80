"""Where a filed case has been on its ladder, read from its timeline.

The follow-ups write the events (`deadline_set` at filing, `escalated`, `sent`, `ticket`,
`no_answer`, `unsatisfied`, each naming its channel); this reads them back as facts: the rungs
climbed, the day the case reached a channel, the deadline it was given there, and what the
person told about each channel they left.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, tzinfo

from flows.definition.ladder import Rung, applicable, last_day
from flows.records import CaseEvent, CaseRecord

# The bot pointed the person to a channel: at filing, or on the way up the ladder.
REACHED = ("deadline_set", "escalated")
# What the person said of a channel, as a letter tells it. Only what they told us is dated:
# "I sent it" is the day they complained; the day the bot pointed them to a channel is not.
_TOLD = {
    "sent": "complained",
    "no_answer": "no_answer",
    "unsatisfied": "unsatisfied",
}


@dataclass(frozen=True, slots=True)
class Told:
    """One thing that happened at a channel the case has left, as the person told it."""

    day: date | None  # None: reached, but they never said when they complained there
    what: str  # complained | no_answer | unsatisfied
    channel: str
    detail: str  # the ticket number for a complaint, the channel's answer for unsatisfied


def reached_rungs(ladder: Sequence[Rung], case: CaseRecord) -> list[int]:
    """Return the rungs the case has climbed so far, first to current."""
    return [i for i in applicable(ladder, case.answers) if i <= case.rung]


def reached_on(events: Sequence[CaseEvent], channel: str, tz: tzinfo) -> date | None:
    """Return the day the case reached `channel` (filed there, or escalated to it)."""
    for event in events:
        if event.kind in REACHED and event.data.get("channel") == channel:
            return event.at.astimezone(tz).date()
    return None


def reply_by(case: CaseRecord, rung: int, channel: str, tz: tzinfo) -> date | None:
    """Return the last day `channel` had to answer at rung `rung` of the case.

    At the current rung it is the case's deadline; at an earlier one, the deadline it was given
    when the case reached that rung.
    """
    if rung == case.rung and case.due_at is not None:
        return last_day(case.due_at, tz)
    day: date | None = None
    for event in case.events:
        if event.kind in REACHED and event.data.get("channel") == channel:
            given = event.data.get("day")
            if isinstance(given, str):
                day = date.fromisoformat(given)
    return day


def told(events: Sequence[CaseEvent], current: str, tz: tzinfo) -> list[Told]:
    """Return what happened at the channels other than `current`, oldest first.

    Events about the current channel are left out: the letter to it is the next thing it hears.
    A channel the case reached but that the person never said they complained to is told once,
    without a day.
    """
    tickets = {  # the ticket number given after "I sent it", by channel (the last one given)
        str(e.data.get("channel")): str(e.data.get("ticket"))
        for e in events
        if e.kind == "ticket" and e.data.get("ticket")
    }
    complained: set[str] = {
        str(e.data.get("channel")) for e in events if e.kind == "sent" and e.data.get("channel")
    }
    entries: list[Told] = []
    for event in events:
        channel = event.data.get("channel")
        if not isinstance(channel, str) or channel == current:
            continue
        ticket = str(event.data.get("ticket") or "")
        if event.kind in ("sent", *REACHED):
            ticket = ticket or tickets.get(channel, "")
        if event.kind in REACHED and channel not in complained:
            complained.add(channel)
            entries.append(Told(None, "complained", channel, ticket))
        elif (what := _TOLD.get(event.kind)) is not None:
            detail = ticket if what != "unsatisfied" else str(event.data.get("answer") or "")
            entries.append(Told(event.at.astimezone(tz).date(), what, channel, detail))
    return entries
