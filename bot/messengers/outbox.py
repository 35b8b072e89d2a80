"""The outbox: the replies to a message kept before they are sent, so a crash cannot lose them.

Keeping a message's replies also finishes its kept updates, in one transaction: from then on
the work is in the outbox, not the inbox. The replies are deleted once sent; at the next start
whatever was kept and not sent goes out first (a kill between sending and deleting sends that
message's replies again, the only repeat). Any messenger may use it with its own way to send.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from flows.errors import StorageError
from flows.model import ConversationKey, Reply
from flows.ports import InboxStore
from flows.records import OutboxEntry

log = logging.getLogger(__name__)

Send = Callable[[Sequence[Reply]], Awaitable[None]]


class Outbox:
    """Keep each message's replies until they are sent; send what a crash left unsent."""

    def __init__(self, store: InboxStore, messenger: str) -> None:
        self.store = store
        self.messenger = messenger

    async def deliver(
        self,
        key: ConversationKey,
        chat_id: str,
        replies: Sequence[Reply],
        done: Sequence[str],
        send: Send,
    ) -> None:
        """Keep `replies` and finish the updates `done` answers, then send them, then forget them.

        When the database refuses, the replies are sent all the same (the person is answered
        now; the updates stay pending and are answered again after a restart).
        """
        try:
            kept = await self.store.keep_replies(key, chat_id, replies, done)
        except StorageError:
            log.warning("could not keep the replies to %s; sending them anyway", key, exc_info=True)
            kept = None
        if not replies:
            return
        await send(replies)
        if kept is not None:
            await self._forget(kept)

    async def resend(
        self, send: Callable[[OutboxEntry], Awaitable[None]], *, user_id: str | None = None
    ) -> int:
        """Send, oldest first, the replies kept and not sent before (all, or to one person);
        return how many messages they answered."""
        unsent = await self.store.unsent_replies(self.messenger, user_id=user_id)
        for entry in unsent:
            await send(entry)
            await self._forget(entry.id)
        if unsent:
            log.info("sent the replies to %s messages a crash had left unsent", len(unsent))
        return len(unsent)

    async def _forget(self, outbox_id: int) -> None:
        try:
            await self.store.replies_sent(outbox_id)
        except StorageError:  # sent again at the next start: a repeat, not a loss
            log.warning("could not mark replies %s sent", outbox_id, exc_info=True)
