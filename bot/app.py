"""The composition root: build storage, flows, the engine, the scheduler and the messengers.

Nothing else constructs them. Each messenger gets what it needs as arguments (its options, and
the `Services` as its `Host` when it starts); the scheduler sends reminders through the
messenger named by each reminder's conversation key.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.analysis_rules import RulesError
from bot.clock import Clock, SystemClock
from bot.config import ConfigError, Settings
from bot.deadlines import DeadlinePolicy, WorkCalendar
from bot.explain import AnalysisExplainer
from bot.export import CasePaperwork
from bot.letters import Templates
from bot.messengers.base import Delivery, Messenger
from bot.ocr import load_reader
from bot.scheduler import Deliver, Scheduler
from flows.conversation.engine import Engine
from flows.definition.schema import DEFINITIONS, FlowSet, load_flows
from flows.errors import StorageError
from flows.model import ConversationKey, Incoming, Reply
from flows.ports import Audience, InboxStore, Store
from flows.records import Deliveries, Reminder
from storage.factory import open_store

if TYPE_CHECKING:
    from telegram.ext import Application
    from telegram.request import BaseRequest

    from bot.messengers.telegram import TelegramOptions

log = logging.getLogger(__name__)


def load_flow_set(settings: Settings) -> FlowSet:
    """Load and check the flows the settings point at (raises FlowError)."""
    return load_flows(Path(settings.flows_dir) if settings.flows_dir else DEFINITIONS)


def load_explainer() -> AnalysisExplainer:
    """Load the suspicious-message rules (a broken rules file stops start-up with its line)."""
    try:
        return AnalysisExplainer()
    except RulesError as e:
        raise ConfigError(str(e)) from e


def load_paperwork(flows: FlowSet, settings: Settings, clock: Clock, store: Store) -> CasePaperwork:
    """Load the letter templates (a broken one stops start-up with its name and line)."""
    templates = Templates()
    templates.check(flows)
    return CasePaperwork(flows, templates, settings.tz, clock.now, store.read_blob)


@dataclass(slots=True)
class Services:
    """The running parts every messenger shares."""

    settings: Settings
    flows: FlowSet
    store: Store
    engine: Engine
    scheduler: Scheduler

    @classmethod
    async def open(cls, settings: Settings, *, clock: Clock | None = None) -> Services:
        """Check the flows, open the database (migrating it), build the engine and scheduler.

        The scheduler is built, not started: the messenger starts it with its way to send.
        """
        for notice in settings.notices:
            log.warning("%s", notice)
        flows = load_flow_set(settings)
        explainer = load_explainer()
        clock = clock or SystemClock()
        calendar = WorkCalendar(settings.extra_holidays)
        policy = DeadlinePolicy(calendar, settings.tz, settings.deadline_override_delta)
        store = await open_store(
            settings.storage_url, settings.storage_db_path, settings.storage_data_dir
        )
        try:
            # Found now rather than when the first person sends a file and is told "try later".
            await store.check_writable()
        except BaseException:
            await store.close()
            raise
        engine = Engine(
            flows,
            store,
            timezone=settings.tz,
            clock=clock.now,
            default_language=settings.default_language,
            max_file_size=settings.max_file_size,
            deadlines=policy,
            explainer=explainer,
            reader=load_reader(),
            paperwork=load_paperwork(flows, settings, clock, store),
        )
        scheduler = Scheduler(
            store, engine, clock, timezone=settings.tz, quiet=settings.quiet_period
        )
        engine.followups.on_reminder = scheduler.notice
        return cls(settings, flows, store, engine, scheduler)

    async def close(self) -> None:
        """Close the database."""
        await self.store.close()

    # The Host every messenger answers for (bot.messengers.base.Host).

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Answer one message with the engine."""
        return await self.engine.handle(incoming)

    @property
    def languages(self) -> Sequence[str]:
        """Return the languages of the flows, the default first."""
        return self.flows.languages

    @property
    def default_language(self) -> str:
        """Return the language used before a person chose one."""
        return self.settings.default_language

    async def language(self, key: ConversationKey) -> str:
        """Return the language this person chose (the default when unknown or unreadable)."""
        try:
            conv = await self.store.load_conversation(key)
        except StorageError:
            conv = None
        return conv.language if conv else self.settings.default_language

    def text(self, name: str, language: str) -> str:
        """Return the bot's text `name` in `language`."""
        return self.flows.catalog(name, language)

    def command_menu(self, language: str) -> Sequence[tuple[str, str]]:
        """Return the engine's registered menu commands, described in `language`."""
        return self.engine.command_menu(language)

    @property
    def mailbox(self) -> InboxStore:
        """Return the store's inbox and outbox."""
        return self.store

    async def handle_recovered(self, incoming: Incoming, since: datetime) -> list[Reply]:
        """Answer a message kept before a restart: resume it if its step had committed."""
        deliveries = Deliveries(incoming.key.messenger, incoming.deliveries)
        try:
            handled = bool(incoming.deliveries) and await self.store.handled(deliveries)
        except StorageError:
            handled = False  # the engine will say it could not save
        if handled:
            return await self.engine.resume(incoming, since)
        return await self.engine.handle(incoming)

    def start_reminders(self, messengers: Sequence[Messenger], audience: Audience = None) -> None:
        """Start the scheduler, sending each reminder through its person's messenger.

        `audience` defaults to the one messenger given; a console session passes its person.
        With several messengers it is everyone's (None): the store cannot yet narrow it to a
        few messengers, so reminders of a console session on the same database would be taken
        here and retried until they fail.
        """
        if audience is None and len(messengers) == 1:
            audience = messengers[0].name
        self.scheduler.start(reminder_sender({m.name: m for m in messengers}), audience)


def reminder_sender(messengers: Mapping[str, Messenger]) -> Deliver:
    """Return the scheduler's way to send: the messenger named by the reminder's key."""

    async def deliver(reminder: Reminder, reply: Reply) -> Delivery:
        messenger = messengers.get(reminder.key.messenger)
        if messenger is None:  # not running in this process; another one will send it
            log.warning("reminder %s: no messenger %r here", reminder.id, reminder.key.messenger)
            return Delivery.RETRY
        return await messenger.deliver_reminder(reminder, reply)

    return deliver


def telegram_options(settings: Settings) -> TelegramOptions:
    """Return what the Telegram messenger needs from the settings (raises without a token)."""
    from bot.messengers.telegram import TelegramOptions  # PTB loads only when needed

    return TelegramOptions(
        token=settings.require_token(),
        base_url=settings.telegram_base_url,
        base_file_url=settings.telegram_base_file_url,
        album_wait=settings.telegram_album_wait,
        forward_wait=settings.telegram_forward_wait,
        flood_rate=settings.flood_rate,
    )


def telegram_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    clock: Clock | None = None,
    rate_limited: bool = True,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """Build the Telegram bot: the services open in PTB's post_init and close in post_shutdown.

    `rate_limited=False` leaves out the rate limiter, so that a benchmark measures the bot's own
    cost rather than Telegram's ~30 messages/s ceiling.
    """
    from bot.messengers.telegram import TelegramMessenger

    messenger = TelegramMessenger(
        telegram_options(settings),
        request=request,
        get_updates_request=get_updates_request,
        rate_limited=rate_limited,
    )
    app = messenger.application
    holder: dict[str, Services] = {}

    async def post_init(_: object) -> None:
        services = await Services.open(settings, clock=clock)
        holder["services"] = services
        await messenger.start(services)
        services.start_reminders([messenger])

    async def post_stop(_: object) -> None:
        if "services" in holder:
            await holder["services"].scheduler.stop()
            await messenger.stop()

    async def post_shutdown(_: object) -> None:
        if "services" in holder:
            services = holder.pop("services")
            await services.scheduler.stop()
            await services.close()

    app.post_init, app.post_stop, app.post_shutdown = post_init, post_stop, post_shutdown
    app.bot_data["services_holder"] = holder
    return app


def run_telegram(settings: Settings) -> None:
    """Start the Telegram bot with long polling until interrupted."""
    from telegram.error import InvalidToken

    app = telegram_application(settings)
    log.info("starting the Telegram bot (long polling)")
    try:
        app.run_polling(allowed_updates=["message", "callback_query"])
    except InvalidToken:
        # PTB's message quotes the whole token; say what is wrong without it.
        raise ConfigError(
            "telegram.token: Telegram rejected the bot token (check TELEGRAM_BOT_TOKEN,"
            " or get a new token from @BotFather)"
        ) from None


async def chat(settings: Settings, user: str) -> int:
    """Talk to the bot in this terminal as `user` until end of input; return the exit status."""
    from bot.messengers.console import MESSENGER, Console

    services = await Services.open(settings)
    key = ConversationKey(MESSENGER, user)
    console = Console(services, user_id=user, documents=services.store.documents_dir(key))
    services.start_reminders([console], audience=key)  # reminders print into the chat
    try:
        await console.run()
    finally:
        await services.scheduler.stop()
        await services.close()
    return 0
