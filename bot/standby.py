"""What a process serving HTTP (`serve`, `run` in webhook mode) does as leader or standby.

On PostgreSQL several such processes may share one database, and a post from Telegram or WeCom
may reach any of them. `Receiving` is what the HTTP routes hand what arrives to, on every
process: while this process leads, its own messengers; while it stands by, the inbox (a
Telegram update is kept, then answered 200) and a word to the leader. `ServingRole` is what the
leader alone does (bot/leader.py starts and stops it): hand on what the inbox keeps, pull WeCom,
poll Telegram, send the reminders, and hear the standbys' words. On SQLite the one process
leads from its start.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from bot.messengers.base import Host, Messenger

if TYPE_CHECKING:
    from bot.messengers.telegram import TelegramMessenger
    from bot.messengers.wecom.messenger import WecomMessenger
    from bot.scheduler import Scheduler
    from storage.postgres.wakeups import Wakeups

WAKE_TELEGRAM = "telegram"  # a standby kept Telegram updates in the inbox
WAKE_WECOM = "wecom"  # a standby got a WeCom callback: "wecom OPEN_KFID TOKEN"


class Running(Host, Protocol):
    """The app's running parts as the leader uses them (bot.app.Services)."""

    scheduler: Scheduler

    def start_reminders(self, messengers: Sequence[Messenger]) -> None:
        """Start sending reminders through `messengers`."""
        ...


class ServingRole:
    """What a process serving HTTP does only while it leads: hand on what the inbox keeps,
    pull WeCom, poll Telegram (unless it posts to a webhook), send the reminders, and hear
    the standbys' wake-ups."""

    def __init__(
        self,
        services: Running,
        *,
        telegram: TelegramMessenger | None = None,
        poll: bool = False,
        wecom: WecomMessenger | None = None,
        wakeups: Wakeups | None = None,
    ) -> None:
        self.services = services
        self.telegram, self.poll, self.wecom = telegram, poll, wecom
        self.wakeups = wakeups
        self._listening: asyncio.Task[None] | None = None

    async def lead(self) -> None:
        """Start pulling, polling, handing on kept updates and sending reminders."""
        messengers: list[Messenger] = []
        if self.wecom is not None:
            await self.wecom.start(self.services)
            messengers.append(self.wecom)
        if self.telegram is not None:
            await self.telegram.start(self.services)
            updater = self.telegram.application.updater
            if self.poll and updater is not None:
                from bot.messengers.telegram_webhook import ALLOWED_UPDATES

                await updater.start_polling(
                    poll_interval=0.0,
                    timeout=timedelta(seconds=10),
                    allowed_updates=list(ALLOWED_UPDATES),
                )
            messengers.append(self.telegram)
        self.services.start_reminders(messengers)
        if self.wakeups is not None:
            self._listening = asyncio.create_task(self.wakeups.listen(self.woken), name="wakeups")

    async def step_down(self) -> None:
        """Stop all that; what is in hand is answered first."""
        if self._listening is not None:
            self._listening.cancel()
            await asyncio.gather(self._listening, return_exceptions=True)
            self._listening = None
        await self.services.scheduler.stop()
        if self.telegram is not None:
            updater = self.telegram.application.updater
            if updater is not None and updater.running:
                await updater.stop()
            await self.telegram.stop()
        if self.wecom is not None:
            await self.wecom.stop()

    def woken(self, payload: str | None) -> None:
        """Act on a standby's wake-up (None: look anyway, one may have been missed)."""
        if self.telegram is not None and payload in (None, WAKE_TELEGRAM):
            self.telegram.wake()
        if self.wecom is not None and payload and payload.startswith(WAKE_WECOM + " "):
            _, open_kfid, token = [*payload.split(" ", 2), ""][:3]
            self.wecom.wake(open_kfid, token or None)


class Receiving:
    """Where the HTTP routes hand what arrives, on every process: to this process's messengers
    while it leads; while it stands by, into the inbox with a word to the leader."""

    def __init__(
        self,
        leading: asyncio.Event,
        wakeups: Wakeups | None,
        *,
        telegram: TelegramMessenger | None = None,
        wecom: WecomMessenger | None = None,
    ) -> None:
        self.leading = leading
        self.wakeups = wakeups
        self.telegram, self.wecom = telegram, wecom
        self._telling: set[asyncio.Task[bool]] = set()

    async def accept(self, updates: list[dict[str, Any]]) -> None:
        """Keep Telegram updates (the webhook answers 200 after this); tell the leader."""
        assert self.telegram is not None
        await self.telegram.accept(updates)
        if self.wakeups is not None and not self.leading.is_set():
            await self.wakeups.notify(WAKE_TELEGRAM)

    def wake(self, open_kfid: str, token: str | None) -> bool:
        """Have a WeCom account pulled: here while leading, else by the leader."""
        assert self.wecom is not None
        if self.wakeups is None or self.leading.is_set():
            return self.wecom.wake(open_kfid, token)
        if open_kfid not in self.wecom.loops:
            return False
        # WeCom wants its answer within 5 s: tell the leader without holding the answer back.
        task = asyncio.create_task(self.wakeups.notify(f"{WAKE_WECOM} {open_kfid} {token or ''}"))
        self._telling.add(task)
        task.add_done_callback(self._telling.discard)
        return True

    async def close(self) -> None:
        """Finish telling the leader, then close the wake-ups' connection."""
        if self._telling:
            await asyncio.gather(*self._telling, return_exceptions=True)
        if self.wakeups is not None:
            await self.wakeups.close()
