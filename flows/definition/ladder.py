"""Where a complaint goes, step by step: channels (places to complain) and each flow's ladder."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from flows.definition.conditions import Conditions, conditions_hold
from flows.definition.texts import Catalog, Texts, pick
from flows.ports import DeadlinePolicy
from flows.records import Due

CHANNELS_FILE = "channels.yaml"


@dataclass(frozen=True, slots=True)
class Deadline:
    """How long a respondent has: calendar days or Chinese working days."""

    days: int = 0
    working_days: int = 0


LETTER_KINDS = ("complaint", "appeal", "report", "police")
IDENTITY_FIELDS = ("name", "phone", "address", "postcode")


@dataclass(frozen=True, slots=True)
class ShortForm:
    """A one-line report a channel takes by SMS, e.g. `sender*text` to 12321."""

    to: str  # the number to text
    text: str  # with {answer_id} placeholders, filled from the case's answers


@dataclass(frozen=True, slots=True)
class Channel:
    """A place to complain, with the facts a person needs to use it and where they come from."""

    id: str
    name: Texts
    how: Texts
    include: Texts
    addressee: Texts  # who a letter to this channel is addressed to
    source: str
    confirmed: bool
    phones: tuple[str, ...] = ()
    site: str | None = None
    legal_basis: Texts | None = None
    deadline_rule: Texts | None = None
    unconfirmed: Texts | None = None
    letter: str = "complaint"  # complaint | appeal (after the company) | report | police
    short: ShortForm | None = None
    # What a letter asks of this channel itself (per language, one demand each); empty: a letter
    # asks for a written reply by the deadline.
    asks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # What the channel requires of the person before it accepts a complaint (12315: name, phone,
    # address); the bot asks for what is missing when a case reaches it.
    identity: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Law:
    """A right a letter can cite, and the cases it fits."""

    id: str
    cite: Texts  # the instrument and article: 《消费者权益保护法》第二十九条
    says: Texts  # what it gives the person, in one sentence
    source: str
    line: int
    flows: frozenset[str] = frozenset()  # empty: any flow
    channels: frozenset[str] = frozenset()  # empty: any channel
    when: Conditions = field(default_factory=dict)  # on the case's answers, as in a ladder

    def fits(self, flow_id: str, channel: str, answers: Mapping[str, Any]) -> bool:
        """Return True when a letter about these answers, to this channel, should cite it."""
        return (
            (not self.flows or flow_id in self.flows)
            and (not self.channels or channel in self.channels)
            and conditions_hold(self.when, answers)
        )


@dataclass(frozen=True, slots=True)
class Rung:
    """One step of an escalation ladder: a channel, its deadline, and when it applies."""

    channel: str
    deadline: Deadline
    line: int
    when: Conditions = field(default_factory=dict)
    binding: bool = True  # False: no rule obliges them; the deadline is when we check back
    respondent: str | None = None  # a text step whose answer names the respondent
    note: Texts | None = None
    # Channels to use at the same time as this one (a report to 12321 beside the carrier, the
    # anti-fraud line beside 110): shown with the rung, no deadline of their own.
    also: tuple[str, ...] = ()

    def applies(self, answers: Mapping[str, Any]) -> bool:
        """Return True when this rung is part of the ladder for these answers."""
        return conditions_hold(self.when, answers)


def alongside(ladder: Sequence[Rung], index: int, answers: Mapping[str, Any]) -> list[str]:
    """Return the channels to use at the same time as rung `index`, not reached before it.

    A channel the case already reached on an earlier rung is left out (a fraud text went to
    12321 first; the carrier's rung need not send it there again).
    """
    earlier: set[str] = set()
    for rung in ladder[:index]:
        if rung.applies(answers):
            earlier |= {rung.channel, *rung.also}
    rung = ladder[index]
    return [c for c in rung.also if c not in earlier and c != rung.channel]


def next_rung(ladder: Sequence[Rung], answers: Mapping[str, Any], after: int = -1) -> int | None:
    """Return the index of the first rung after `after` that applies, or None at the top."""
    return next((i for i in range(after + 1, len(ladder)) if ladder[i].applies(answers)), None)


def applicable(ladder: Sequence[Rung], answers: Mapping[str, Any]) -> list[int]:
    """Return the indexes of the rungs these answers climb, in order."""
    return [i for i, rung in enumerate(ladder) if rung.applies(answers)]


def place(
    ladder: Sequence[Rung], index: int, channels: Mapping[str, Channel]
) -> tuple[Rung | None, Channel | None]:
    """Return the rung a case stands on and its channel; None for what the ladder lacks.

    A case keeps its rung index when its flow changes: an index past the end is no rung.
    """
    if not 0 <= index < len(ladder):
        return None, None
    rung = ladder[index]
    return rung, channels.get(rung.channel)


def channel_name(channel_id: str, channels: Mapping[str, Channel], lang: str) -> str:
    """Return a channel's name in `lang`, or its id when no such channel is defined."""
    channel = channels.get(channel_id)
    return pick(channel.name, lang) if channel else channel_id


def respondent(
    rung: Rung, answers: Mapping[str, Any], channels: Mapping[str, Channel], lang: str
) -> str:
    """Return who must answer at `rung`: the name the person typed for it, else the channel's."""
    if rung.respondent:
        answer = answers.get(rung.respondent)
        text = answer.get("text") if isinstance(answer, Mapping) else answer
        if isinstance(text, str) and text.strip():
            return text.strip()[:60]
    return channel_name(rung.channel, channels, lang)


def span(deadline: Deadline, catalog: Catalog, lang: str) -> str:
    """Return how long a deadline gives, in words: "15 天", "5 working days"."""
    if deadline.working_days:
        return catalog("span_working_days", lang, n=deadline.working_days)
    return catalog("span_days", lang, n=deadline.days)


def last_day(due_at: datetime, tz: tzinfo) -> date:
    """Return the respondent's last day for a stored deadline moment (the inverse of `Due`).

    A deadline in days passes at the midnight after its last day, so that midnight belongs
    to the day before; a deadline set in hours or seconds (`deadline_override`) is its day.
    """
    local = due_at.astimezone(tz)
    if local.time() == time(0):
        return (local - timedelta(days=1)).date()
    return local.date()


class WeekdayDeadlines:
    """A DeadlinePolicy that knows no holidays (working days are Monday to Friday)."""

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz

    def due(
        self, start: datetime, *, days: int = 0, working_days: int = 0, binding: bool = True
    ) -> Due:
        day = start.astimezone(self.tz).date()
        if days:
            day += timedelta(days=days)
            while binding and day.weekday() >= 5:  # 民法典 art. 203, weekends only here
                day += timedelta(days=1)
        counted = 0
        while counted < working_days:
            day += timedelta(days=1)
            counted += day.weekday() < 5
        midnight = datetime.combine(day + timedelta(days=1), datetime.min.time(), self.tz)
        return Due(day, midnight.astimezone(UTC))

    def later(self, start: datetime, days: int) -> datetime:
        return start + timedelta(days=days)


def due_for(policy: DeadlinePolicy, rung: Rung, start: datetime) -> Due:
    """Return when `rung`'s respondent must have answered, counting from `start`."""
    deadline = rung.deadline
    return policy.due(
        start, days=deadline.days, working_days=deadline.working_days, binding=rung.binding
    )
