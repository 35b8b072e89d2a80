"""Telegram's rate limit held by several processes together: PTB's limiter over a shared pace.

Telegram takes about 30 messages a second from one bot; workers (`telegram.workers` above 1)
are several processes sending for one bot. Each used to send at 1/N of the budget, fixed: a
survivor kept its half when the other worker died, and the leader sent due reminders at half
speed while the other worker sat idle. Two ways out were weighed:

- divide by the workers alive (each holding a session lock, counted every few seconds): a dead
  one is counted out within seconds, but an idle one still holds its share, and a worker that
  starts sends at its new share while the others still send at their old one until they look
  again (30 + 15 messages a second for those seconds, with two);
- a shared pace in PostgreSQL (chosen): before each message a process reserves the next slot
  of the bot's one timetable (storage/postgres/send_pace.py, one statement), and sends when
  it comes. Dead and idle processes reserve nothing, so whoever sends gets the whole budget at
  once, and all of them together never exceed it, on any number of machines (the server's
  clock decides). The cost is one round trip to the database per message, about 1 ms on a
  local network, against 33 ms between two messages; a process reserves one slot at a time,
  so it reaches the full rate while that round trip is under about 70 ms.

PTB's `AIORateLimiter` does the rest as for one process (which messages count: those to a
chat; 20 a minute per group; waiting out Telegram's 429s and retrying), its own overall limit
off. When the database cannot be reached the process falls back for a while to its fixed share
(1/N), which holds the budget without it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from aiolimiter import AsyncLimiter
from telegram.ext import AIORateLimiter

from flows.errors import StorageError

log = logging.getLogger(__name__)

# Seconds to use the fixed share after the database failed to reserve a slot, before trying again.
FALLBACK_SECONDS = 5.0


class Pace(Protocol):
    """The bot's one timetable of sends, shared by every process (storage/postgres/send_pace.py)."""

    async def reserve(self) -> float:
        """Reserve the next free slot; return the seconds until it."""
        ...

    async def close(self) -> None:
        """Let go of the database."""
        ...


class SharedRateLimiter(AIORateLimiter):
    """PTB's rate limiter, each message to a chat sent at a slot reserved in the shared pace."""

    def __init__(self, pace: Pace, fallback_period: float, *, max_retries: int = 3) -> None:
        """Pace sends by `pace`; without the database, one per `fallback_period` seconds."""
        super().__init__(overall_max_rate=0, max_retries=max_retries)
        self._pace = pace
        self._fallback = AsyncLimiter(1, fallback_period)
        self._turn = asyncio.Lock()  # one slot reserved at a time: no hoarding of the budget
        self._down_until = 0.0  # loop time until which the fixed share is used

    async def shutdown(self) -> None:
        """Close the pace's database session."""
        await self._pace.close()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        """Wait for a slot of the shared pace (a message to a chat), then send as PTB does."""
        # The messages AIORateLimiter counts against the overall limit; paid broadcasts have
        # their own, higher one.
        if data.get("chat_id") is not None and not data.get("allow_paid_broadcast"):
            await self._wait_for_slot()
        return await super().process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )

    async def _wait_for_slot(self) -> None:
        loop = asyncio.get_running_loop()
        async with self._turn:
            if loop.time() < self._down_until:
                await self._fallback.acquire()
                return
            try:
                wait = await self._pace.reserve()
            except StorageError:
                log.warning(
                    "could not reserve a send slot in the database; sending at this"
                    " process's fixed share for %.0f s",
                    FALLBACK_SECONDS,
                    exc_info=True,
                )
                self._down_until = loop.time() + FALLBACK_SECONDS
                await self._fallback.acquire()
                return
            await asyncio.sleep(wait)
