"""Flood control where messages enter: each person at most N messages per period, others unaffected.

A leaky bucket per person (aiolimiter, which PTB's rate limiter already brings): N messages may
arrive at once, then one per period/N. The first message over the limit gets one polite "slow
down"; the rest of the flood is dropped unprocessed, and the next message within the limit is
handled normally (and re-arms the warning).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from enum import Enum

from aiolimiter import AsyncLimiter

# Forget people whose bucket is empty, now and then, so the table cannot grow without bound.
_SWEEP_EVERY = 1000


class Verdict(Enum):
    """What to do with one incoming message."""

    ADMIT = "admit"
    WARN = "warn"  # over the limit for the first time in this flood: say "slow down"
    DROP = "drop"  # over the limit again: ignore


@dataclass(slots=True)
class _Person:
    bucket: AsyncLimiter
    warned: bool = field(default=False)


class FloodGate:
    """Admit each person's messages at up to `limit` per `period` seconds, on any messenger."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self._people: dict[Hashable, _Person] = {}
        self._seen = 0

    async def admit(self, who: Hashable) -> Verdict:
        """Return whether a message from `who` is handled, answered with a warning, or dropped."""
        self._seen += 1
        if self._seen % _SWEEP_EVERY == 0:
            self._sweep()
        person = self._people.get(who)
        if person is None:
            person = self._people[who] = _Person(AsyncLimiter(self.limit, self.period))
        if person.bucket.has_capacity():
            await person.bucket.acquire()  # returns at once: there is capacity
            person.warned = False
            return Verdict.ADMIT
        if person.warned:
            return Verdict.DROP
        person.warned = True
        return Verdict.WARN

    def _sweep(self) -> None:
        self._people = {
            who: person
            for who, person in self._people.items()
            if not person.bucket.has_capacity(self.limit)  # keep those with messages counted
        }
