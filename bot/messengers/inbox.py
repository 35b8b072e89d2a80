"""The inbox: a messenger's updates kept before the platform is told they arrived, then handed on.

Whatever receives updates (Telegram's long polling, a webhook, WeChat's pull) calls `accept`
and acknowledges them only once it returned: a crash after that loses nothing, since the kept
updates are handed on again at the next start. Updates are handed on in the order they were
kept, each in its own task (the messenger's intake keeps one conversation's in order), and stay
pending until the messenger keeps their replies (`InboxStore.keep_replies`) or finishes them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from flows.errors import StorageError
from flows.ports import InboxStore
from flows.records import Inbound, InboxEntry

log = logging.getLogger(__name__)

# Pending updates read at a time.
BATCH = 200
# How long to wait before reading the inbox again when the database refused.
RETRY_SECONDS = 1.0

# Hands one kept update to the messenger; `recovered` when it was kept by an earlier process.
Dispatch = Callable[[InboxEntry, bool], Awaitable[None]]


class Inbox:
    """Keep a messenger's updates, then hand each on once, in the order they came."""

    def __init__(self, store: InboxStore, messenger: str, dispatch: Dispatch) -> None:
        self.store = store
        self.messenger = messenger
        self._dispatch = dispatch
        self._wake = asyncio.Event()
        self._drain: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._started_at = datetime.now(UTC)

    async def accept(self, updates: Sequence[Inbound]) -> None:
        """Return once these updates are kept (new ones are then handed on).

        When the database refuses to keep them, they are handed on from memory instead: the
        person is answered (if the database refuses every write, with "could not save, send
        it again") rather than not at all, and the caller may acknowledge them.
        """
        if not updates:
            return
        try:
            new = await self.store.accept_updates(self.messenger, updates)
        except StorageError:
            log.warning("could not keep %s updates; handling them unkept", len(updates))
            now = datetime.now(UTC)
            for update in updates:
                entry = InboxEntry(0, update.delivery_id, update.user_id, update.payload, now)
                self._hand_on(entry, recovered=False)
            return
        if new < len(updates):
            log.info("%s %s updates delivered again; ignored", len(updates) - new, self.messenger)
        self._wake.set()

    def wake(self) -> None:
        """Look for kept updates now: another process may have kept some (it said so)."""
        self._wake.set()

    def start(self) -> None:
        """Start handing on kept updates: first those an earlier process left, then new ones."""
        self._started_at = datetime.now(UTC)
        self._drain = asyncio.create_task(self._run(), name=f"inbox:{self.messenger}")

    async def stop(self) -> None:
        """Stop handing on updates; those already handed on are finished first."""
        if self._drain is not None:
            self._drain.cancel()
            await asyncio.gather(self._drain, return_exceptions=True)
            self._drain = None
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    async def _run(self) -> None:
        after = 0
        while True:
            self._wake.clear()
            try:
                entries = await self.store.pending_updates(self.messenger, after, BATCH)
            except StorageError:
                log.warning("could not read the inbox; trying again", exc_info=True)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            for entry in entries:
                after = entry.id
                # Kept before this process started: its step may have committed before a crash.
                self._hand_on(entry, recovered=entry.received_at < self._started_at)
            if len(entries) < BATCH:
                await self._wake.wait()

    def _hand_on(self, entry: InboxEntry, *, recovered: bool) -> None:
        task = asyncio.create_task(self._run_one(entry, recovered))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run_one(self, entry: InboxEntry, recovered: bool) -> None:
        try:
            await self._dispatch(entry, recovered)
        except Exception:
            # Left pending: handed on again at the next start.
            log.exception("could not handle kept update %s", entry.delivery_id)
