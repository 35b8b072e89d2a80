"""Group commit: the steps waiting to be written go to the database thread together.

A step's write is one function run on aiosqlite's thread. Its result comes back through the event
loop, and only then may the next write start (one writer; files are deleted in between). On a
busy loop that round trip takes a millisecond or two, far longer than the write itself, so with
many people writing at once the hop, not SQLite, set the pace. Here every write that queued up
meanwhile goes in the next hop: each still in its own transaction, in the order they came, and
each one's follow-up (deleting files it left unused) runs before the next batch.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

import aiosqlite

from storage.db import run_sync
from storage.errors import StorageError

T = TypeVar("T")
Write = Callable[[sqlite3.Connection], T]
After = Callable[[T], Awaitable[None]]
_Queued = tuple[Write[Any], "asyncio.Future[Any]", After[Any] | None]


def _attempt(fn: Write[Any], conn: sqlite3.Connection) -> tuple[bool, Any]:
    """Run one write; its failure is its own, not the batch's."""
    try:
        return True, fn(conn)
    except sqlite3.Error as e:
        error = StorageError(f"database: {e}")
        error.__cause__ = e
        return False, error
    except Exception as e:
        return False, e


def _attempt_all(batch: list[_Queued], conn: sqlite3.Connection) -> list[tuple[bool, Any]]:
    return [_attempt(fn, conn) for fn, _, _ in batch]


class GroupCommit:
    """Run queued writes on the database thread, as many per hop as are waiting."""

    def __init__(self, conn: aiosqlite.Connection, lock: asyncio.Lock) -> None:
        self._conn = conn
        self._lock = lock  # the store's one-writer lock, held while a batch and its follow-ups run
        self._waiting: list[_Queued] = []
        self._writer: asyncio.Task[None] | None = None

    async def write(self, fn: Write[T], after: After[T] | None = None) -> T:
        """Run `fn` (a whole transaction) with the others waiting, then `after(result)`."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiting.append((fn, future, after))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="group-commit")
        return await future

    async def _drain(self) -> None:
        async with self._lock:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    outcomes = await run_sync(self._conn, partial(_attempt_all, batch))
                except Exception as e:  # no thread to write on (closed): none of it was written
                    error = e if isinstance(e, StorageError) else StorageError(f"database: {e}")
                    for _, future, _ in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                except BaseException:  # cancelled (the loop is ending): so are its callers
                    for _, future, _ in batch:
                        future.cancel()
                    raise
                for (_, future, after), (ok, value) in zip(batch, outcomes, strict=True):
                    if ok and after is not None:
                        await after(value)
                    if future.done():  # its caller was cancelled; the write happened all the same
                        continue
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
