"""Conversation locks: which of several processes handles a person's kept updates right now.

With workers (`telegram.workers` above 1) every process drains the inbox, and a conversation is
handled by one process at a time: the one whose session holds its advisory lock
(`pg_try_advisory_lock` on a key from the messenger and the person). The locks live on a
connection of the process's own, not the pool's (a pooled connection goes back after each call,
and the lock with it); PostgreSQL drops them the moment that session ends, so what a killed
process held is free at once and its pending updates go to whoever looks next.

One query finds the conversations waiting (pending updates, or replies kept and not sent) and
takes the free ones, so a look costs one round trip however many people are waiting. Replies
are kept and sent while their conversation is held, so a free one with replies still kept was
left by a dead worker (or a send that failed): they go out first, before the next update.

A second connection LISTENs for the inbox's notices (`PostgresStore` notifies, naming the people,
whenever updates are kept), so that every process looks as soon as one is kept, the idle ones
first, instead of at its next timer.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Collection
from typing import Any

import psycopg

from storage.errors import StorageError
from storage.postgres.sessions import own_session
from storage.postgres.store import INBOX_CHANNEL

log = logging.getLogger(__name__)

# The key of a conversation's lock: a 64-bit hash of its messenger and person, computed by the
# server so that every process agrees (a collision with the leader lock's keys is 1 in 2^64).
_KEY = "hashtextextended('complaint-bot inbox:' || %(messenger)s || ':' || {lane}, 0)"

# Lanes: a person's user id ('' for updates without one). The inner query is limited before the
# outer one takes locks: a lock function in a query with LIMIT may lock rows it does not return.
_TAKE = f"""
SELECT w.lane FROM (
    SELECT lane, min(first) AS first FROM (
        SELECT COALESCE(user_id, '') AS lane, min(id) AS first FROM inbox
         WHERE messenger = %(messenger)s AND done_at IS NULL GROUP BY 1
        UNION ALL
        SELECT user_id, min(id) FROM outbox WHERE messenger = %(messenger)s GROUP BY 1
    ) AS waiting
    WHERE lane <> ALL(%(held)s)
    GROUP BY lane ORDER BY min(first) LIMIT %(limit)s
) AS w
WHERE pg_try_advisory_lock({_KEY.format(lane="w.lane")})
"""
_TAKE_ONE = f"SELECT pg_try_advisory_lock({_KEY.format(lane='%(lane)s')})"
_GIVE_BACK = f"SELECT pg_advisory_unlock({_KEY.format(lane='%(lane)s')})"


class ConversationLocks:
    """Take and give back conversations of the inbox at `url`, for this process's session."""

    def __init__(self, url: str, *, connect_timeout: float = 5.0) -> None:
        self.url = url
        self._connect_timeout = connect_timeout
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._listener: psycopg.AsyncConnection[Any] | None = None
        self._held: dict[tuple[str, str], int] = {}  # (messenger, lane) -> session it was taken on
        self._session = 0  # counts the lock connections opened: a new one holds none of the old

    async def take_waiting(self, messenger: str, held: Collection[str], limit: int) -> list[str]:
        """Take the free conversations waiting to be handled, oldest first; return their lanes.

        Waiting: with a pending update, or with replies kept and not sent. `held` are this
        process's own, left out (a session lock taken twice is held twice).
        """
        params = {"messenger": messenger, "held": list(held), "limit": limit}
        try:
            conn = await self._connection()
            cursor = await conn.execute(_TAKE, params)
            lanes = [str(row[0]) for row in await cursor.fetchall()]
        except psycopg.Error as e:
            await self._drop()
            raise StorageError(f"storage.url: conversation locks: {e}") from e
        for lane in lanes:
            self._held[(messenger, lane)] = self._session
        return lanes

    async def take(self, messenger: str, lane: str) -> bool:
        """Take one conversation if it is free; return whether this session holds it now.

        Not one this process holds already (a session lock taken twice is held twice).
        """
        try:
            conn = await self._connection()
            cursor = await conn.execute(_TAKE_ONE, {"messenger": messenger, "lane": lane})
            row = await cursor.fetchone()
        except psycopg.Error as e:
            await self._drop()
            raise StorageError(f"storage.url: conversation locks: {e}") from e
        if row and row[0]:
            self._held[(messenger, lane)] = self._session
            return True
        return False

    async def give_back(self, messenger: str, lane: str) -> None:
        """Let another process take this conversation (nothing if the session was lost since)."""
        session = self._held.pop((messenger, lane), None)
        conn = self._conn
        if session != self._session or conn is None or conn.closed:
            return  # that session ended, and its locks with it
        try:
            await conn.execute(_GIVE_BACK, {"messenger": messenger, "lane": lane})
        except psycopg.Error:
            log.warning("could not give back a conversation lock; ending the session")
            await self._drop()

    async def wait_for_news(self, messenger: str, seconds: float) -> set[str] | None:
        """Wait up to `seconds` for updates of `messenger` kept by any process; return whose.

        The lanes (people) of the updates kept meanwhile: empty when none came in time, None
        when some came but the notice did not say whose (too many at once).
        """
        heard: set[str] = set()
        try:
            if self._listener is None or self._listener.closed:
                self._listener = await self._connect("inbox listener")
                await self._listener.execute(f"LISTEN {INBOX_CHANNEL}")
            # Notices that came in one packet are all yielded, whatever stop_after says.
            async for notice in self._listener.notifies(timeout=seconds, stop_after=1):
                name, *lanes = notice.payload.split("\n")
                if name != messenger:
                    continue
                if not lanes:
                    return None
                heard.update(lanes)
        except psycopg.Error as e:
            await self._close_listener()
            raise StorageError(f"storage.url: inbox notices: {e}") from e
        return heard

    async def close(self) -> None:
        """End both sessions, and with them every lock this process holds."""
        await self._drop()
        await self._close_listener()

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = await self._connect("conversation locks")
            self._session += 1
        return self._conn

    async def _connect(self, purpose: str) -> psycopg.AsyncConnection[Any]:
        return await own_session(self.url, purpose, self._connect_timeout)

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self._held.clear()
        if conn is not None:
            with contextlib.suppress(psycopg.Error, OSError):
                await conn.close()

    async def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(psycopg.Error, OSError):
                await listener.close()
