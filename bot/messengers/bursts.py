"""Messages that arrive together, handled as one batch: an album, or forwards sent at once.

A messenger says which group a message belongs to (Telegram: its media_group_id, or a chat
with forwards arriving; WeChat: a merged chat record). The first message of a group is
handled; the others join it until the group has been quiet for its wait, and the first one's
handler then takes them all in order.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


class Kind(enum.Enum):
    """What holds a group together."""

    ALBUM = "album"  # parts of one message (photos sent as one): counted once
    BURST = "burst"  # separate messages sent at once (forwards): each one counts


@dataclass(frozen=True, slots=True)
class Group:
    """A group of messages: its kind and the messenger's id for it."""

    kind: Kind
    id: str


@dataclass(slots=True)
class _Gathering(Generic[T]):
    items: list[T]
    last_seen: float
    done: bool = field(default=False)


class Bursts(Generic[T]):
    """Gather the messages of each group until no new one has arrived for the group's wait."""

    def __init__(
        self, album_wait: float, burst_wait: float | None, order: Callable[[T], int]
    ) -> None:
        self.waits = {
            Kind.ALBUM: album_wait,
            Kind.BURST: album_wait if burst_wait is None else burst_wait,
        }
        self.order = order  # the message's place in its conversation (its message id)
        self._groups: dict[Group, _Gathering[T]] = {}

    def join(self, group: Group, item: T) -> bool:
        """Return True when `item` joined a group being gathered (then it needs no handling)."""
        now = asyncio.get_running_loop().time()
        gathering = self._groups.get(group)
        if gathering is None or gathering.done:
            self._groups[group] = _Gathering([item], now)
            return False
        gathering.items.append(item)
        gathering.last_seen = now
        return True

    def forget(self, group: Group, item: T) -> None:
        """Drop the group `item` opened (it will not be handled, so nobody would collect it)."""
        gathering = self._groups.get(group)
        if gathering is not None and gathering.items and gathering.items[0] is item:
            del self._groups[group]

    async def collect(self, group: Group) -> list[T]:
        """Wait for the rest of the group; return its messages in order ([] if none was opened)."""
        gathering = self._groups.get(group)
        if gathering is None:
            return []
        loop = asyncio.get_running_loop()
        wait = self.waits[group.kind]
        # Each new member pushes last_seen forward: sleep until the group has been quiet `wait` s.
        while (remaining := gathering.last_seen + wait - loop.time()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(remaining)
        gathering.done = True
        del self._groups[group]
        return sorted(gathering.items, key=self.order)
