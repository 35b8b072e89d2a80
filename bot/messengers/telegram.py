"""Telegram through python-telegram-bot: translate updates into Incoming, render Replies back."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
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
from telegram.error import BadRequest, Forbidden, InvalidToken, TelegramError
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

from bot.app import Services
from bot.clock import Clock
from bot.config import ConfigError, Settings
from bot.messengers.flood import FloodGate
from bot.messengers.ordering import AlbumCollector, ChatOrderedProcessor, stop_spinner
from bot.messengers.telegram_updates import MESSENGER, burst, to_incoming
from bot.scheduler import Delivery
from flows.errors import StorageError
from flows.model import ConversationKey, Incoming, Reply
from flows.records import Reminder

log = logging.getLogger(__name__)

MAX_TEXT = 4096
MAX_CONCURRENT_UPDATES = 256
Context = ContextTypes.DEFAULT_TYPE

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
    return len(text.encode("utf-16-le")) // 2


def _fitting(text: str, limit: int) -> int:
    """Return how many characters of `text` fit in `limit` UTF-16 code units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1  # outside the BMP: a surrogate pair
        if used > limit:
            return index
    return len(text)


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """Return the start of `text` that Telegram accepts as one message."""
    return text[: _fitting(text, limit)]


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split text into messages Telegram accepts, at line breaks where possible.

    Telegram counts UTF-16 code units, not characters: an emoji outside the BMP counts twice,
    so 2,100 emoji are one 2,100-character string and too long for one message.
    """
    chunks: list[str] = []
    while utf16_length(text) > limit:
        fits = _fitting(text, limit)
        cut = text.rfind("\n", 0, fits)
        if cut <= 0:
            cut = fits
        chunks.append(text[:cut])
        text = text[cut:].lstrip("\n")
    chunks.append(text)
    return chunks


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


class TelegramMessenger:
    """The handlers PTB calls; each hands one Incoming to the engine and sends its replies."""

    def __init__(self, services: Services, albums: AlbumCollector) -> None:
        self.services = services
        self.albums = albums

    async def on_message(self, update: Update, context: Context) -> None:
        """Handle a message (text, files, album, forward) from a private chat."""
        updates = [update]
        group = self.albums.group_of(update)
        if group is not None:
            updates = await self.albums.collect(group) or updates
        if group is not None and group.startswith("forwards:"):
            incoming = burst(updates, context.bot)
        else:
            incoming = to_incoming(updates, context.bot)
        if incoming is not None:
            await self.deliver(context.bot, incoming, await self.services.engine.handle(incoming))

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
        replies = await self.services.engine.handle(incoming)
        if not replies:  # a press delivered again: it was answered the first time
            return
        if isinstance(query.message, Message) and not any(r.edit for r in replies):
            await self.mark_pressed(query.message, query.data or "")
        await self.deliver(context.bot, incoming, replies, pressed=query.message)

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

    async def deliver(
        self, bot: Any, incoming: Incoming, replies: list[Reply], pressed: Any = None
    ) -> None:
        """Send the replies: edits in place where asked, long texts split, documents attached.

        One message Telegram refuses does not stop the rest of the turn (a letter refused as
        too long used to take its .txt and .md files with it): it is logged, the rest is sent,
        and the person is told that a part is missing.
        """
        chat_id = int(incoming.chat_id)
        sends: list[Callable[[], Awaitable[Any]]] = []
        for reply in replies:
            markup = keyboard(reply)
            if reply.edit and isinstance(pressed, Message):
                sends.append(partial(_edit, pressed, clip(reply.text), markup))
                continue
            chunks = split_text(reply.text) if reply.text else []
            for index, chunk in enumerate(chunks):
                last = index == len(chunks) - 1
                sends.append(
                    partial(bot.send_message, chat_id, chunk, reply_markup=markup if last else None)
                )
            if reply.document is not None:
                document = InputFile(reply.document.content, filename=reply.document.file_name)
                sends.append(partial(bot.send_document, chat_id, document))
        refused = 0
        for send in sends:
            try:
                await send()
            except Forbidden:
                log.info("chat %s blocked the bot; replies dropped", chat_id)
                return
            except TelegramError:
                refused += 1
                log.warning(
                    "chat %s: a reply was not sent; sending the rest", chat_id, exc_info=True
                )
        if refused:
            await self._say_unsent(bot, incoming)

    async def _say_unsent(self, bot: Any, incoming: Incoming) -> None:
        try:
            conv = await self.services.store.load_conversation(incoming.key)
        except StorageError:
            conv = None
        language = conv.language if conv else self.services.settings.default_language
        try:
            await bot.send_message(int(incoming.chat_id), _UNSENT.get(language, _UNSENT["en"]))
        except TelegramError:
            log.warning("chat %s: could not say that a reply is missing", incoming.chat_id)

    async def deliver_reminder(self, bot: Any, reminder: Reminder, reply: Reply) -> Delivery:
        """Send a due reminder (through the rate limiter, like every call of `bot`)."""
        try:
            await bot.send_message(
                int(reminder.chat_id), clip(reply.text), reply_markup=keyboard(reply)
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

    async def slow_down(self, bot: Any, update: Update) -> None:
        """Ask someone over the flood limit, once, to slow down (in their language)."""
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None:
            return
        services = self.services
        try:
            conv = await services.store.load_conversation(ConversationKey(MESSENGER, str(user.id)))
        except StorageError:
            conv = None
        language = conv.language if conv else services.settings.default_language
        try:
            await bot.send_message(chat.id, services.flows.catalog("slow_down", language))
        except TelegramError:
            log.info("could not ask chat %s to slow down", chat.id, exc_info=True)
        await stop_spinner(update)

    async def on_group(self, update: Update, context: Context) -> None:
        """Ask people who write in a group to talk privately (cases are personal)."""
        if update.effective_message is not None:
            await update.effective_message.reply_text(
                "请私聊我 / Please talk to me in a private chat: cases hold personal data."
            )


async def _edit(message: Message, text: str, markup: InlineKeyboardMarkup | None) -> None:
    try:
        await message.edit_text(text, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():  # the same text again is no failure
            raise


def rate_limiter() -> AIORateLimiter:
    """Return the limiter every Bot API call goes through: under 30 messages in any second."""
    return AIORateLimiter(overall_max_rate=1, overall_time_period=1 / OVERALL_RATE, max_retries=3)


async def _error_handler(update: object, context: Context) -> None:
    log.error("error while handling an update", exc_info=context.error)


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    clock: Clock | None = None,
    rate_limited: bool = True,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """Build the PTB Application: storage opens in post_init and closes in post_shutdown.

    `rate_limited=False` leaves out the rate limiter, so that a benchmark measures the bot's own
    cost rather than Telegram's ~30 messages/s ceiling.
    """
    albums = AlbumCollector(settings.telegram_album_wait, settings.telegram_forward_wait)
    rate = settings.flood_rate
    processor = ChatOrderedProcessor(
        MAX_CONCURRENT_UPDATES, albums, FloodGate(*rate) if rate is not None else None
    )
    holder: dict[str, Any] = {}

    async def post_init(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        services = await Services.open(settings, clock=clock)
        messenger = TelegramMessenger(services, albums)
        holder["services"] = services
        processor.warn = partial(messenger.slow_down, app.bot)
        private = filters.ChatType.PRIVATE
        app.add_handler(CallbackQueryHandler(messenger.on_button))
        app.add_handler(MessageHandler(private & ~filters.UpdateType.EDITED, messenger.on_message))
        app.add_handler(
            MessageHandler(filters.ChatType.GROUPS & filters.COMMAND, messenger.on_group)
        )
        app.add_error_handler(_error_handler)
        await _set_commands(app, services)
        services.scheduler.start(partial(messenger.deliver_reminder, app.bot), MESSENGER)

    async def post_stop(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        if "services" in holder:
            await holder["services"].scheduler.stop()

    async def post_shutdown(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        if "services" in holder:
            services = holder.pop("services")
            await services.scheduler.stop()
            await services.close()

    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .token(settings.require_token())
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.telegram_base_file_url)
        .concurrent_updates(processor)
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
    )
    if rate_limited:
        builder = builder.rate_limiter(rate_limiter())
    if request is not None:
        builder = builder.request(request).get_updates_request(get_updates_request or request)
    app = builder.build()
    app.bot_data["services_holder"] = holder
    return app


async def _set_commands(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    for index, language in enumerate(services.flows.languages):
        menu = services.engine.command_menu(language)  # the engine's registered commands
        commands = [BotCommand(name, description) for name, description in menu]
        # The default language's list is also the list for clients in any other language.
        code = None if language == services.settings.default_language else language
        await app.bot.set_my_commands(commands, language_code=code)
        if index == 0 and code is not None:
            await app.bot.set_my_commands(commands)


def run_polling(settings: Settings) -> None:
    """Start the bot with long polling until interrupted."""
    app = build_application(settings)
    log.info("starting the Telegram bot (long polling)")
    try:
        app.run_polling(allowed_updates=["message", "callback_query"])
    except InvalidToken:
        # PTB's message quotes the whole token; say what is wrong without it.
        raise ConfigError(
            "telegram.token: Telegram rejected the bot token (check TELEGRAM_BOT_TOKEN,"
            " or get a new token from @BotFather)"
        ) from None
