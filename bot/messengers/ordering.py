"""Update processing for PTB: one chat's updates strictly in order, different chats concurrently.

An album (several photos sent at once) reaches a bot as one update per photo with a shared
`media_group_id`; they are gathered here so that the engine sees them as one message. So are
several messages forwarded at once (a burst of forwards from one chat), which are checked as one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import BaseUpdateProcessor

from bot.messengers.flood import FloodGate, Verdict

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Album:
    updates: list[Update]
    last_seen: float
    done: bool = field(default=False)


class AlbumCollector:
    """Gather the updates of one media group, or one burst of forwards, until it goes quiet.

    An album is complete when no member has arrived for `wait` seconds; a burst of forwarded
    messages (no media group, same chat) when none has arrived for `forward_wait` seconds.
    """

    def __init__(self, wait: float, forward_wait: float | None = None) -> None:
        self.wait = wait
        self.forward_wait = wait if forward_wait is None else forward_wait
        self._albums: dict[str, _Album] = {}

    @staticmethod
    def group_of(update: Update) -> str | None:
        """Return the key of the group `update` belongs to, or None for a lone message."""
        message = update.message
        if message is None:
            return None
        if message.media_group_id:
            return f"album:{message.media_group_id}"
        if message.forward_origin is not None:
            return f"forwards:{message.chat.id}"
        return None

    def join(self, update: Update) -> bool:
        """Return True when `update` joined a group already being gathered (it needs no run)."""
        group = self.group_of(update)
        if group is None:
            return False
        now = asyncio.get_running_loop().time()
        album = self._albums.get(group)
        if album is None or album.done:
            self._albums[group] = _Album([update], now)
            return False
        album.updates.append(update)
        album.last_seen = now
        return True

    def forget(self, update: Update) -> None:
        """Drop the group `update` opened (it will not be handled, so nobody collects it)."""
        group = self.group_of(update)
        if group is None:
            return
        album = self._albums.get(group)
        if album is not None and album.updates and album.updates[0] is update:
            del self._albums[group]

    async def collect(self, group: str) -> list[Update]:
        """Wait for the rest of the group; return all its updates in message order."""
        album = self._albums.get(group)
        if album is None:
            return []
        loop = asyncio.get_running_loop()
        wait = self.forward_wait if group.startswith("forwards:") else self.wait
        # Each new member pushes last_seen forward: sleep until the group has been quiet `wait` s.
        while (remaining := album.last_seen + wait - loop.time()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(remaining)
        album.done = True
        del self._albums[group]
        return sorted(album.updates, key=lambda u: u.message.message_id if u.message else 0)


Warn = Callable[[Update], Awaitable[None]]


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Process updates of one chat one after another (transitions and our steps need it).

    Updates are counted against their sender's flood limit as they arrive, before they wait
    for their chat's turn: an update over the limit is not processed at all. Every forwarded
    message of a burst counts; an album counts once.
    """

    def __init__(
        self, max_concurrent_updates: int, albums: AlbumCollector, flood: FloodGate | None = None
    ) -> None:
        super().__init__(max_concurrent_updates)
        self.albums = albums
        self.flood = flood
        self.warn: Warn | None = None  # says "slow down"; set once the messenger exists
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run `coroutine` under its chat's lock; album members after the first are skipped."""
        if not isinstance(update, Update) or update.effective_chat is None:
            await coroutine
            return
        group = self.albums.group_of(update)
        album = group is not None and not group.startswith("forwards:")
        # An album is one message: its members after the first join it uncounted. Each message
        # of a burst of forwards is a message to check, so each counts against the flood limit
        # before it may join its burst; one over the limit is left out of it.
        if album and self.albums.join(update):
            _close(coroutine)  # the album's first update handles this one too
            return
        sender = update.effective_user
        if self.flood is not None and sender is not None:
            verdict = await self.flood.admit(sender.id)
            if verdict is not Verdict.ADMIT:
                _close(coroutine)
                if album:
                    self.albums.forget(update)
                if verdict is Verdict.DROP or self.warn is None:
                    await stop_spinner(update)
                    return
                coroutine = self.warn(update)  # in its turn, after what was admitted before
                album = True  # a warning joins no burst
        if not album and self.albums.join(update):
            _close(coroutine)  # the burst's first update handles this one too
            return
        chat = update.effective_chat.id
        lock = self._locks.setdefault(chat, asyncio.Lock())
        self._users[chat] = self._users.get(chat, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._users[chat] -= 1
            if not self._users[chat]:  # forget idle chats so the dict does not grow forever
                del self._users[chat], self._locks[chat]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


async def stop_spinner(update: Update) -> None:
    """Answer a dropped button press, so the person's app stops showing it as loading."""
    if update.callback_query is None:
        return
    try:
        await update.callback_query.answer()
    except TelegramError:  # an old or already answered query: nothing to stop
        log.debug("could not answer a dropped button press", exc_info=True)


def _close(coroutine: Awaitable[Any]) -> None:
    if asyncio.iscoroutine(coroutine):
        coroutine.close()  # never awaited on purpose; closing it avoids the warning
