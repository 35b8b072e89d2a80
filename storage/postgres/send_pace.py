"""The send pace: one bot's Telegram messages spaced evenly, whichever process sends them.

Telegram takes about 30 messages a second from one bot, however many processes send them.
Workers (`telegram.workers` above 1) share that budget through one row of `send_pace`: before
each message, a process moves the row's `next_at` on by one gap (1/rate seconds) from the later
of itself and now, and sends when its slot comes. The server's clock alone decides, so processes
on several machines agree without their clocks agreeing; a dead or idle process reserves nothing,
so the others get the whole budget at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import psycopg

from storage.errors import StorageError
from storage.postgres.sessions import own_session

# Returns how long to wait for the slot just reserved: the new next_at is one gap after it.
# A slot is never further ahead than AHEAD seconds, whatever the row says: each process holds
# at most one reservation, so only a server clock set back could put it further, and sends
# would then stop for as long as it went back.
_RESERVE = """
INSERT INTO send_pace AS p (bot, next_at)
VALUES (%(bot)s, clock_timestamp() + make_interval(secs => %(gap)s))
ON CONFLICT (bot) DO UPDATE
   SET next_at = greatest(
           least(p.next_at, clock_timestamp() + make_interval(secs => %(ahead)s)),
           clock_timestamp()
       ) + make_interval(secs => %(gap)s)
RETURNING greatest(extract(epoch FROM p.next_at - clock_timestamp())::float8 - %(gap)s, 0)
"""
AHEAD = 2.0
# Seconds a reservation may take before the database counts as unreachable (its session is
# dropped: a statement cut off leaves it in no known state).
TIMEOUT = 2.0


class SendPace:
    """Reserve slots for one bot's messages at `rate` a second, shared by every process."""

    def __init__(self, url: str, bot: str, rate: float, *, connect_timeout: float = 5.0) -> None:
        self.url = url
        self.bot = bot
        self.gap = 1.0 / rate
        self._connect_timeout = connect_timeout
        self._conn: psycopg.AsyncConnection[Any] | None = None

    async def reserve(self) -> float:
        """Reserve the next free slot; return the seconds until it (0: send now)."""
        params = {"bot": self.bot, "gap": self.gap, "ahead": AHEAD}
        try:
            async with asyncio.timeout(TIMEOUT):
                if self._conn is None or self._conn.closed:
                    self._conn = await self._connect()
                cursor = await self._conn.execute(_RESERVE, params)
                row = await cursor.fetchone()
        except TimeoutError as e:
            await self.close()
            raise StorageError(f"storage.url: send pace: no answer within {TIMEOUT} s") from e
        except psycopg.Error as e:
            await self.close()
            raise StorageError(f"storage.url: send pace: {e}") from e
        return float(row[0]) if row else 0.0

    async def close(self) -> None:
        """End the session (reserved slots stay reserved)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error, OSError):
                await conn.close()

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        return await own_session(self.url, "send pace", self._connect_timeout)
