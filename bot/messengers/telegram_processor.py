"""PTB's update processor over the shared intake: each update admitted, grouped and run in turn.

An album (several photos sent at once) reaches a bot as one update per photo with a shared
`media_group_id`; several messages forwarded at once arrive as a burst from one chat. Both are
gathered by `bot.messengers.bursts` so that the engine sees one message; one chat's updates run
one after another (`bot.messengers.ordering`), and each person's flood limit is counted as
updates arrive (`bot.messengers.flood`). PTB's own rate limiter paces what goes out.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import BaseUpdateProcessor

from bot.messengers.bursts import Bursts, Group, Kind
from bot.messengers.flood import FloodGate
from bot.messengers.intake import Arrival, Intake

log = logging.getLogger(__name__)


def group_of(update: Update) -> Group | None:
    """Return the album or burst `update` belongs to, or None for a lone message."""
    message = update.message
    if message is None:
        return None
    if message.media_group_id:
        return Group(Kind.ALBUM, message.media_group_id)
    if message.forward_origin is not None:
        return Group(Kind.BURST, str(message.chat.id))
    return None


def _message_id(update: Update) -> int:
    return update.message.message_id if update.message else 0


def telegram_intake(
    album_wait: float, forward_wait: float | None, flood: FloodGate | None
) -> Intake[Update]:
    """Return the intake for Telegram updates, grouped in message order."""
    return Intake(Bursts(album_wait, forward_wait, _message_id), flood)


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Process updates of one chat one after another (transitions and our steps need it).

    Updates over their sender's flood limit are not processed at all; every forwarded message
    of a burst counts, an album counts once.
    """

    def __init__(self, max_concurrent_updates: int, intake: Intake[Update]) -> None:
        super().__init__(max_concurrent_updates)
        self.intake = intake
        intake.dropped = stop_spinner
        # Update ids that joined an album or burst, for whoever handed them in to look up.
        self.joined: dict[int, bool] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run `coroutine` in its chat's turn; album members after the first are skipped."""
        if not isinstance(update, Update) or update.effective_chat is None:
            await coroutine
            return
        sender = update.effective_user
        arrival = Arrival(
            update,
            lane=update.effective_chat.id,
            sender=sender.id if sender is not None else None,
            group=group_of(update),
        )
        if await self.intake.process(arrival, coroutine):
            self.joined[update.update_id] = True

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
