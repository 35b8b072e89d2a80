"""Telegram through python-telegram-bot: updates into Incoming, replies back within its limits.

The app (bot/app.py) builds it with `TelegramOptions` and hands it the `Host` when the bot
starts; it reads no settings and opens no storage. PTB's Application runs the polling (with
`run_polling`, or a test's runner), but every update it fetches goes through `accept` into the
inbox (bot/messengers/inbox.py) before PTB asks Telegram for the next ones, which is what
confirms them; the inbox hands kept updates to PTB's handlers through the update processor
(the shared intake), and each message's replies go out through the outbox
(bot/messengers/outbox.py). A webhook calls `accept` the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    Update,
)
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.messengers import fitting
from bot.messengers.base import ButtonStyle, Delivery, Host, Limits, Measure
from bot.messengers.bursts import Kind
from bot.messengers.flood import FloodGate
from bot.messengers.inbox import Inbox, Locks
from bot.messengers.outbox import Outbox
from bot.messengers.telegram_pace import Pace, SharedRateLimiter
from bot.messengers.telegram_processor import (
    ChatOrderedProcessor,
    group_of,
    stop_spinner,
    telegram_intake,
)
from bot.messengers.telegram_updates import MESSENGER, burst, to_incoming
from flows.model import ConversationKey, Incoming, Reply
from flows.records import Inbound, InboxEntry, OutboxEntry, Reminder

log = logging.getLogger(__name__)

MAX_TEXT = 4096
# Telegram allows 100 buttons under a message; more are refused with "reply markup is too long".
MAX_BUTTONS = 100
LIMITS = Limits(
    max_text=MAX_TEXT,
    measure=Measure.UTF16,
    buttons_per_message=MAX_BUTTONS,
    can_edit=True,
    buttons=ButtonStyle.INLINE,
)
MAX_CONCURRENT_UPDATES = 256
Context = ContextTypes.DEFAULT_TYPE
App = Application[Any, Any, Any, Any, Any, Any]

# Telegram allows about 30 messages/s overall and answers more with 429, after which PTB pauses
# every send. AIORateLimiter's default is a leaky bucket holding 30 that also drains 30/s: after a
# quiet spell it lets up to 60 through within a second. A bucket of one draining OVERALL_RATE/s
# lets at most OVERALL_RATE + 1 into any second, whatever came before.
OVERALL_RATE = 27


# Said after a turn in which Telegram refused one of the replies (the others were sent).
_UNSENT = {
    "zh": "⚠️ 上面的回复有一部分没能发出（Telegram 拒收了），其余的都已发出。",
    "en": "⚠️ Part of my reply above could not be sent (Telegram refused it); the rest was.",
}


def utf16_length(text: str) -> int:
    """Return the length of `text` as Telegram counts it: in UTF-16 code units."""
    return Measure.UTF16.length(text)


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """Return the start of `text` that Telegram accepts as one message."""
    return fitting.clip(text, limit, Measure.UTF16)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split text into messages Telegram accepts (UTF-16 code units), at line breaks if possible."""
    return fitting.split_text(text, limit, Measure.UTF16)


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """Return the reply's buttons as an inline keyboard (None: no buttons)."""
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.label, callback_data=b.data) for b in row]
            for row in reply.buttons
        ]
    )


@dataclass(frozen=True, slots=True)
class TelegramOptions:
    """What the Telegram messenger needs to know, given by the app from its settings."""

    token: str
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    album_wait: float = 0.8  # seconds to wait for the rest of an album
    forward_wait: float | None = None  # for more forwards of a burst (None: album_wait)
    flood_rate: tuple[int, float] | None = None  # (messages, seconds) per person; None: off
    workers: int = 1  # processes sharing the inbox and Telegram's rate


@dataclass(frozen=True, slots=True)
class Pressed:
    """The message whose button a person pressed, and that button's data."""

    message: Message
    data: str


class _KeepingQueue(asyncio.Queue[object]):
    """PTB's update queue, into which its Updater puts each update it fetched: kept instead.

    The Updater moves its getUpdates offset past a batch (confirming it to Telegram at the next
    call) only once `put` returned for every update of it, so an update is confirmed only once
    it is kept. PTB's own signals (its stop) pass through as in a plain queue.
    """

    def __init__(self, accept: Callable[[list[dict[str, Any]]], Awaitable[None]]) -> None:
        super().__init__()
        self._accept = accept

    async def put(self, item: object) -> None:
        """Keep an update in the inbox; queue anything else."""
        if isinstance(item, Update):
            await self._accept([item.to_dict()])
        else:
            await super().put(item)


class TelegramMessenger:
    """The Telegram messenger: PTB's handlers hand each Incoming to the host and send its replies.

    `application` is the PTB Application to run; `start(host)` is called once it is initialised
    (from its post_init): it registers the bot's commands, sends what a crash left unsent, and
    starts handing on kept updates.
    """

    name = MESSENGER
    limits = LIMITS

    def __init__(
        self,
        options: TelegramOptions,
        *,
        request: BaseRequest | None = None,
        get_updates_request: BaseRequest | None = None,
        rate_limited: bool = True,
        locks: Locks | None = None,
        pace: Pace | None = None,
    ) -> None:
        """Build the PTB Application (`rate_limited=False`: no rate limiter, for benchmarks).

        With `locks`, other processes drain the inbox too: this one answers only the people
        it has taken (bot/messengers/inbox.py). With `pace`, they share Telegram's rate limit
        through it (bot/messengers/telegram_pace.py).
        """
        rate = options.flood_rate
        self.intake = telegram_intake(
            options.album_wait, options.forward_wait, FloodGate(*rate) if rate else None
        )
        self._host: Host | None = None
        self._locks = locks
        self._inbox: Inbox | None = None
        self._outbox: Outbox | None = None
        self._recovered: dict[int, datetime] = {}  # update id -> kept at, by an earlier process
        self._started_at = datetime.now(UTC)  # when this process began handing updates on
        self._finished: set[int] = set()  # update ids whose replies were kept (or none were due)
        self.processor = ChatOrderedProcessor(MAX_CONCURRENT_UPDATES, self.intake)
        builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder()
            .token(options.token)
            .base_url(options.base_url)
            .base_file_url(options.base_file_url)
            .concurrent_updates(self.processor)
            .update_queue(_KeepingQueue(self.accept))
        )
        if rate_limited:
            builder = builder.rate_limiter(rate_limiter(options.workers, pace))
        if request is not None:
            builder = builder.request(request).get_updates_request(get_updates_request or request)
        self.application: App = builder.build()
        private = filters.ChatType.PRIVATE
        app = self.application
        app.add_handler(CallbackQueryHandler(self.on_button))
        app.add_handler(MessageHandler(private & ~filters.UpdateType.EDITED, self.on_message))
        app.add_handler(MessageHandler(filters.ChatType.GROUPS & filters.COMMAND, self.on_group))
        app.add_error_handler(_error_handler)

    @property
    def started(self) -> bool:
        """Return whether the inbox is being handed on (`start` ran; `open` alone only keeps)."""
        return self._inbox is not None and self._inbox.running

    @property
    def shared(self) -> bool:
        """Return whether other processes answer from the same inbox (workers)."""
        return self._locks is not None

    @property
    def host(self) -> Host:
        """Return the app this messenger answers for (set by `start`)."""
        if self._host is None:
            raise RuntimeError("the Telegram messenger was not started")
        return self._host

    def open(self, host: Host) -> None:
        """Keep updates for `host` from now on, without handing them on (a standby's webhook)."""
        if self._inbox is not None:
            return
        self._host = host
        self.intake.warn = self.slow_down
        self._outbox = Outbox(host.mailbox, MESSENGER)
        self._inbox = Inbox(
            host.mailbox, MESSENGER, self._dispatch, locks=self._locks, resend=self._resend_to
        )

    async def start(self, host: Host) -> None:
        """Answer for `host` from now on: show the bot's commands in Telegram's menu, send the
        replies a crash left unsent, then hand on the kept updates."""
        self.open(host)
        assert self._inbox is not None and self._outbox is not None
        if self._inbox.running:  # a worker answers from its start; leading adds nothing here
            return
        self._started_at = datetime.now(UTC)
        await self._set_commands(host)
        if not self._inbox.shared:
            # Before any newer message of the same person is answered. (Shared, the other
            # workers' replies are in the outbox too: each person's go out when they are taken.)
            await self._outbox.resend(self._send_unsent)
        self._inbox.start()

    async def stop(self) -> None:
        """Stop handing on kept updates, once those in hand are answered (polling stops in PTB)."""
        if self._inbox is not None:
            await self._inbox.stop()

    def wake(self) -> None:
        """Look in the inbox for updates another process kept (a webhook post to a standby)."""
        if self._inbox is not None:
            self._inbox.wake()

    async def accept(self, updates: list[dict[str, Any]]) -> None:
        """Return once these raw updates (Bot API JSON) are durably accepted.

        Then, and only then, may they be confirmed to Telegram (the getUpdates offset, a
        webhook's 200). They are answered from the inbox, in order per chat (from memory when
        the database refuses to keep them: see `Inbox.accept`).
        """
        if self._inbox is None:
            raise RuntimeError("the Telegram messenger was not started")
        bot = self.application.bot
        kept = []
        for data in updates:
            update = Update.de_json(data, bot)
            user = update.effective_user
            kept.append(
                Inbound(f"{bot.id}:{update.update_id}", str(user.id) if user else None, dict(data))
            )
        await self._inbox.accept(kept)

    async def _dispatch(self, entry: InboxEntry, recovered: bool) -> None:
        """Run one kept update through the intake and PTB's handlers; finish it if they did not."""
        app = self.application
        update = Update.de_json(entry.payload, app.bot)
        if recovered:
            self._recovered[update.update_id] = entry.received_at
        await self.processor.process_update(update, app.process_update(update))
        if self.processor.joined.pop(update.update_id, False):
            return  # part of an album or a burst: the message it joined finishes it
        self._recovered.pop(update.update_id, None)
        if update.update_id in self._finished:
            self._finished.discard(update.update_id)
        elif entry.id:  # kept, and nothing to answer (not a private chat, over the flood limit)
            await self.host.mailbox.finish_updates(MESSENGER, [entry.delivery_id])

    async def _answer(self, incoming: Incoming, updates: Sequence[Update]) -> list[Reply]:
        """Ask the host for the replies, resuming instead where a crash may have lost them."""
        kept_at = [
            self._recovered.pop(u.update_id) for u in updates if u.update_id in self._recovered
        ]
        if kept_at:
            return await self.host.handle_recovered(incoming, min(kept_at))
        return await self.host.handle(incoming)

    async def _deliver(
        self,
        incoming: Incoming,
        handled: Update,
        replies: Sequence[Reply],
        pressed: Pressed | None = None,
    ) -> None:
        """Keep the replies (finishing every update they answer), send them, forget them."""
        self._finished.add(handled.update_id)  # the others joined it: nobody looks them up
        outbox = self._outbox
        assert outbox is not None

        async def send(kept: Sequence[Reply]) -> None:
            await self.send_replies(incoming.key, incoming.chat_id, kept, pressed=pressed)

        await outbox.deliver(incoming.key, incoming.chat_id, replies, incoming.deliveries, send)

    async def _resend_to(self, user_id: str) -> None:
        """Send what the outbox still holds for one person (taken from a dead worker)."""
        assert self._outbox is not None
        await self._outbox.resend(self._send_unsent, user_id=user_id)

    async def _send_unsent(self, entry: OutboxEntry) -> None:
        # The pressed message is not known any more: an edit becomes a new message.
        await self.send_replies(entry.key, entry.chat_id, entry.replies)

    async def on_message(self, update: Update, context: Context) -> None:
        """Handle a message (text, files, album, forward) from a private chat."""
        updates = [update]
        group = group_of(update)
        if group is not None:
            updates = await self.intake.bursts.collect(group) or updates
        if group is not None and group.kind is Kind.BURST:
            incoming = burst(updates, context.bot)
        else:
            incoming = to_incoming(updates, context.bot)
        if incoming is not None:
            replies = await self._answer(incoming, updates)
            await self._deliver(incoming, update, replies)

    async def on_button(self, update: Update, context: Context) -> None:
        """Handle a button press: acknowledge it, then answer like a message."""
        query = update.callback_query
        assert query is not None
        try:
            await query.answer()
        except TelegramError:  # an old query can no longer be answered; the press still counts
            log.debug("could not answer a callback query", exc_info=True)
        incoming = to_incoming([update], context.bot)
        if incoming is None:
            return
        kept_at = self._recovered.get(update.update_id)
        replies = await self._answer(incoming, [update])
        if kept_at is not None and kept_at < self._started_at:
            # Kept before a restart, which may have sent messages below the pressed one (replies
            # a crash left unsent, reminders): an edit up there would go unseen. (Workers hand
            # on every update as recovered, to be checked; one kept since is edited as usual.)
            replies = [replace(reply, edit=False) for reply in replies]
        message = query.message if isinstance(query.message, Message) else None
        if replies and message is not None and not any(r.edit for r in replies):
            await self.mark_pressed(message, query.data or "")
        pressed = Pressed(message, query.data or "") if message is not None else None
        # No replies: a press delivered again, answered the first time; it is finished all the same.
        await self._deliver(incoming, update, replies, pressed)

    async def mark_pressed(self, message: Message, data: str) -> None:
        """Remove the buttons of an answered question, noting which one was pressed."""
        label = next(
            (
                b.text
                for row in (message.reply_markup.inline_keyboard if message.reply_markup else ())
                for b in row
                if b.callback_data == data
            ),
            None,
        )
        try:
            if label and message.text:
                await message.edit_text(clip(f"{message.text}\n\n→ {label}"))
            else:
                await message.edit_reply_markup(None)
        except BadRequest:  # already edited, too old, or unchanged: nothing to fix
            log.debug("could not mark a pressed button", exc_info=True)

    async def send_replies(
        self,
        key: ConversationKey,
        chat_id: str,
        replies: Sequence[Reply],
        *,
        pressed: Pressed | None = None,
    ) -> None:
        """Send the replies: edits in place where asked, long texts split, documents attached.

        One message Telegram refuses does not stop the rest of the turn (a letter refused as
        too long used to take its .txt and .md files with it): it is logged, the rest is sent,
        and the person is told that a part is missing.
        """
        bot = self.application.bot
        chat = int(chat_id)
        sends: list[Callable[[], Awaitable[Any]]] = []
        for reply in fitting.fit(replies, LIMITS):
            markup = keyboard(reply)
            if reply.edit and pressed is not None:
                sends.append(partial(self._edit, chat, pressed, reply.text, markup))
                continue
            if reply.text:
                sends.append(partial(bot.send_message, chat, reply.text, reply_markup=markup))
            if reply.document is not None:
                document = InputFile(reply.document.content, filename=reply.document.file_name)
                sends.append(partial(bot.send_document, chat, document))
        refused = 0
        for send in sends:
            try:
                await send()
            except Forbidden:
                log.info("chat %s blocked the bot; replies dropped", chat)
                return
            except TelegramError:
                refused += 1
                log.warning("chat %s: a reply was not sent; sending the rest", chat, exc_info=True)
        if refused:
            await self._say_unsent(key, chat)

    async def _edit(
        self, chat: int, pressed: Pressed, text: str, markup: InlineKeyboardMarkup | None
    ) -> None:
        """Show `text` in place of the pressed message, or anew below it if Telegram refuses."""
        try:
            await pressed.message.edit_text(text, reply_markup=markup)
            return
        except BadRequest as exc:
            # "Not modified": the pressed message shows this already (a stale copy of the
            # question was pressed), so the person would see nothing happen. "Not found",
            # "can't be edited": it is gone. Either way the question comes where they look.
            log.info("chat %s: pressed message not edited (%s); sending it anew", chat, exc)
        await self.application.bot.send_message(chat, text, reply_markup=markup)
        await self.mark_pressed(pressed.message, pressed.data)  # one live copy of the question

    async def _say_unsent(self, key: ConversationKey, chat: int) -> None:
        language = await self.host.language(key)
        try:
            await self.application.bot.send_message(chat, _UNSENT.get(language, _UNSENT["en"]))
        except TelegramError:
            log.warning("chat %s: could not say that a reply is missing", chat)

    async def deliver_reminder(self, reminder: Reminder, reply: Reply) -> Delivery:
        """Send a due reminder (through the rate limiter, like every call of the bot)."""
        bot = self.application.bot
        try:
            for message in fitting.fit([reply], LIMITS):
                await bot.send_message(
                    int(reminder.chat_id), message.text, reply_markup=keyboard(message)
                )
        except Forbidden:
            return Delivery.UNREACHABLE
        except BadRequest as exc:
            if "chat not found" in str(exc).lower():
                return Delivery.UNREACHABLE
            log.warning("reminder %s: Telegram refused it", reminder.id, exc_info=True)
            return Delivery.RETRY
        except TelegramError:
            log.warning("reminder %s: could not send it yet", reminder.id, exc_info=True)
            return Delivery.RETRY
        return Delivery.SENT

    async def slow_down(self, update: Update) -> None:
        """Ask someone over the flood limit, once, to slow down (in their language)."""
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None:
            return
        host = self.host
        language = await host.language(ConversationKey(MESSENGER, str(user.id)))
        try:
            await self.application.bot.send_message(chat.id, host.text("slow_down", language))
        except TelegramError:
            log.info("could not ask chat %s to slow down", chat.id, exc_info=True)
        await stop_spinner(update)

    async def on_group(self, update: Update, context: Context) -> None:
        """Ask people who write in a group to talk privately (cases are personal)."""
        if update.effective_message is not None:
            await update.effective_message.reply_text(
                "请私聊我 / Please talk to me in a private chat: cases hold personal data."
            )

    async def _set_commands(self, host: Host) -> None:
        bot = self.application.bot
        for index, language in enumerate(host.languages):
            menu = host.command_menu(language)  # the engine's registered commands
            commands = [BotCommand(name, description) for name, description in menu]
            # The default language's list is also the list for clients in any other language.
            code = None if language == host.default_language else language
            await bot.set_my_commands(commands, language_code=code)
            if index == 0 and code is not None:
                await bot.set_my_commands(commands)


def rate_limiter(workers: int = 1, pace: Pace | None = None) -> AIORateLimiter:
    """Return the limiter every Bot API call goes through: under 30 messages in any second,
    for all of `workers` processes together (through `pace`, or each at an equal share)."""
    # A bucket of one lets 1 + rate messages into any second: N processes at rate r each let
    # N + N*r in, so they share OVERALL_RATE + 1 - N between them, not OVERALL_RATE (4 at 27/4
    # each let 31 in when their first messages came late: a 429).
    period = workers / max(1, OVERALL_RATE + 1 - workers)
    if pace is not None:
        return SharedRateLimiter(pace, period)
    return AIORateLimiter(overall_max_rate=1, overall_time_period=period, max_retries=3)


async def _error_handler(update: object, context: Context) -> None:
    log.error("error while handling an update", exc_info=context.error)
