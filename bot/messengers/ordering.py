"""One conversation's messages strictly one after another, different conversations concurrently.

The engine needs it: transitions cancels overlapping triggers on one model, and a step reads
what the one before it committed. Every messenger runs its messages through `Lanes`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Hashable
from typing import TypeVar

T = TypeVar("T")


class Lanes:
    """Run work one at a time per conversation (a lane), any number of lanes at once."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._users: dict[Hashable, int] = {}

    async def run(self, lane: Hashable, work: Awaitable[T]) -> T:
        """Await `work` once everything queued before it in `lane` is done; return its result."""
        lock = self._locks.setdefault(lane, asyncio.Lock())
        self._users[lane] = self._users.get(lane, 0) + 1
        try:
            async with lock:
                return await work
        finally:
            self._users[lane] -= 1
            if not self._users[lane]:  # forget idle lanes so the dict does not grow forever
                del self._users[lane], self._locks[lane]

    def __len__(self) -> int:
        """Return how many lanes have work queued or running."""
        return len(self._locks)
