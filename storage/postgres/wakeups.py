"""Wake-ups between the processes of one bot: a standby tells the leader there is work.

Every process serves HTTP, so a Telegram webhook post or a WeCom callback may reach a standby.
The standby keeps the update in the inbox (or, for WeCom, only learns there is news) and says so
on a PostgreSQL notification channel; the leader listens there and looks at once, instead of at
its next safety check. A notification is a hint, never the record: what it announces is already
in the database, so a lost one only delays the answer until the leader's next look.

Both sides use a connection of their own (LISTEN holds its session while it waits; the pool's
connections go back to other work).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

from storage.postgres.store import redact

log = logging.getLogger(__name__)

# Seconds between the listener's looks without a notification (the leader wakes anyway: a
# standby may have died between keeping an update and saying so), and before reconnecting.
SAFETY = 5.0
RECONNECT = 1.0
# A notification carries at most 8,000 bytes; ours are a messenger and an account id.
MAX_PAYLOAD = 7900


def channel_name(bot: str) -> str:
    """Return the notification channel of the bot called `bot` (one per bot on a database)."""
    return "complaint_bot_" + hashlib.sha256(bot.encode()).hexdigest()[:16]


class Wakeups:
    """Say there is work (`notify`), or hear it (`listen`), on the channel of one bot."""

    def __init__(self, url: str, bot: str, *, connect_timeout: float = 5.0) -> None:
        self.url = url
        self.channel = channel_name(bot)
        self._connect_timeout = connect_timeout
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._sending = asyncio.Lock()

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(
            self.url,
            autocommit=True,
            connect_timeout=max(1, round(self._connect_timeout)),
            application_name="complaint-bot wake-ups",
        )

    async def notify(self, payload: str) -> bool:
        """Tell the listening leader `payload`; return False if the database could not be told.

        Never raises: the caller has already kept what it announces.
        """
        async with self._sending:
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = await self._connect()
                await self._conn.execute(
                    "SELECT pg_notify(%s, %s)", (self.channel, payload[:MAX_PAYLOAD])
                )
            except psycopg.Error as e:
                log.warning("could not wake the leader on %s: %s", redact(self.url), e)
                await self.close()
                return False
        return True

    async def listen(self, woken: Callable[[str | None], None]) -> None:
        """Call `woken(payload)` for each notification, until cancelled.

        `woken(None)` means "look anyway": after each (re)connection, when notifications may
        have been missed, and every SAFETY seconds.
        """
        said_unreachable = False
        while True:
            try:
                async with await self._connect() as conn:
                    await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                    said_unreachable = False
                    woken(None)
                    while True:
                        async for notice in conn.notifies(timeout=SAFETY):
                            woken(notice.payload)
                        woken(None)
                        # A network gone silent raises nothing while waiting: ask something.
                        await asyncio.wait_for(conn.execute("SELECT 1"), SAFETY)
            except (psycopg.Error, OSError, TimeoutError) as e:
                if not said_unreachable:
                    log.warning("wake-ups: lost the database (%s); reconnecting", e)
                    said_unreachable = True
            await asyncio.sleep(RECONNECT)

    async def close(self) -> None:
        """Close the connection `notify` uses (closing twice is fine)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error, OSError):
                await conn.close()
