"""Where a message enters, on any messenger: flood limit, album or burst, its conversation's turn.

The order matters and is the same everywhere. A message is counted against its sender's flood
limit as it arrives, before it waits for its conversation's turn, so a flood never queues. An
album is one message: its parts after the first join it uncounted. Each message of a burst
(forwards) is a message to check, so each counts before it may join its burst; one over the
limit is left out of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from bot.messengers.bursts import Bursts, Group, Kind
from bot.messengers.flood import FloodGate, Verdict
from bot.messengers.ordering import Lanes

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Arrival(Generic[T]):
    """One message as it arrives: the messenger's own object, and where it belongs."""

    item: T
    lane: Hashable  # the conversation whose turn it waits for
    sender: Hashable | None = None  # whose flood limit it counts against (None: nobody's)
    group: Group | None = None  # the album or burst it belongs to


Say = Callable[[T], Awaitable[None]]


class Intake(Generic[T]):
    """Admit each message, group it, and run its work in its conversation's turn."""

    def __init__(self, bursts: Bursts[T], flood: FloodGate | None = None) -> None:
        self.bursts = bursts
        self.flood = flood
        self.lanes = Lanes()
        self.warn: Say[T] | None = None  # says "slow down" once; set when the messenger starts
        self.dropped: Say[T] | None = None  # tidies up after a message that is not handled

    async def process(self, arrival: Arrival[T], work: Awaitable[Any]) -> bool:
        """Run `work` (the handling of `arrival`) in its turn, or close it unrun.

        Unrun: the message joined a group whose first message handles it (then True is
        returned), or it is over its sender's flood limit (the first such gets the warning
        instead, in its turn).
        """
        item, group = arrival.item, arrival.group
        album = group is not None and group.kind is Kind.ALBUM
        if group is not None and album and self.bursts.join(group, item):
            _close(work)
            return True
        if self.flood is not None and arrival.sender is not None:
            verdict = await self.flood.admit(arrival.sender)
            if verdict is not Verdict.ADMIT:
                _close(work)
                if group is not None and album:
                    self.bursts.forget(group, item)
                if verdict is Verdict.DROP or self.warn is None:
                    if self.dropped is not None:
                        await self.dropped(item)
                    return False
                work = self.warn(item)  # in its turn, after what was admitted before
                group = None  # a warning joins no burst
        if group is not None and not album and self.bursts.join(group, item):
            _close(work)
            return True
        await self.lanes.run(arrival.lane, work)
        return False


def _close(work: Awaitable[Any]) -> None:
    if asyncio.iscoroutine(work):
        work.close()  # never awaited on purpose; closing it avoids the warning
