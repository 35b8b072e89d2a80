"""One turn at a time per person: what reads and writes a person's count and screen.

A reminder from the scheduler and the answer to what the person wrote both read how many of
the 5 are left and what is on the screen, render, keep and send: run together, each would
count from what it read (6 sent, WeChat refusing one) and save a screen or the waiting pages
over the other's. Both run in the one process that pulls WeChat (the leader on PostgreSQL),
so a lock per person in that process serialises them on either database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Turns:
    """A lock per person, dropped once nobody holds it or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def of(self, person: str) -> AsyncIterator[None]:
        """Hold the person's turn for the block (waiting while another one holds it)."""
        lock, users = self._locks.get(person, (asyncio.Lock(), 0))
        self._locks[person] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            _, users = self._locks[person]
            if users == 1:
                del self._locks[person]
            else:
                self._locks[person] = (lock, users - 1)

    def waiting(self, person: str) -> int:
        """Return how many wait for the person's turn (for tests)."""
        lock, users = self._locks.get(person, (None, 0))
        return users - 1 if lock is not None and lock.locked() else 0
