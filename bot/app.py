"""The composition root: build storage, flows, the engine, the scheduler and the messengers.

Nothing else constructs them. Each messenger gets what it needs as arguments (its options, and
the `Services` as its `Host` when it starts); the scheduler sends reminders through the
messenger named by each reminder's conversation key.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
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
from flows.records import CaseChange, Deliveries, Reminder
from storage.factory import open_store

if TYPE_CHECKING:
    import httpx
    import uvicorn
    from starlette.routing import BaseRoute
    from telegram.ext import Application
    from telegram.request import BaseRequest

    from bot.http_server import HttpServer
    from bot.leader import Lock, Tenure
    from bot.messengers.inbox import Locks
    from bot.messengers.telegram import TelegramMessenger, TelegramOptions
    from bot.messengers.telegram_pace import Pace
    from bot.messengers.wecom.api import TokenCache, WecomApi
    from bot.messengers.wecom.crypto import WecomCrypto
    from bot.messengers.wecom.messenger import WecomMessenger, WecomOptions
    from bot.messengers.wecom.server import Waking
    from bot.standby import Receiving
    from storage.postgres.wakeups import Wakeups

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]


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

    async def reminder_prompt(self, reminder: Reminder) -> Reply | None:
        """Return what a due reminder asks its case's owner, or None if it no longer applies."""
        return await self.engine.reminder_prompt(reminder)

    async def reminder_delivered(self, reminder: Reminder) -> bool:
        """Mark a reminder sent with its record on the case; False if it had been already."""
        return await self.engine.reminder_delivered(reminder)

    async def reminder_delivery(self, reminder: Reminder) -> list[CaseChange]:
        """Return what sending a reminder records on its case (see `Host.reminder_delivery`)."""
        return await self.engine.reminder_delivery(reminder)

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
        workers=settings.telegram_workers,
    )


def telegram_bot(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    clock: Clock | None = None,
    rate_limited: bool = True,
    led: bool = False,
) -> TelegramMessenger:
    """Build the Telegram messenger: the services open in PTB's post_init, close in post_shutdown.

    `rate_limited=False` leaves out the rate limiter, so that a benchmark measures the bot's own
    cost rather than Telegram's ~30 messages/s ceiling. `led=True` leaves the messenger and the
    reminders to a `TelegramRole`, started only while this process leads (bot/leader.py).
    """
    from bot.messengers.telegram import TelegramMessenger

    messenger = TelegramMessenger(
        telegram_options(settings),
        request=request,
        get_updates_request=get_updates_request,
        rate_limited=rate_limited,
        locks=conversation_locks(settings),
        pace=send_pace(settings) if rate_limited else None,
    )
    app = messenger.application
    holder: dict[str, Services] = {}

    async def post_init(_: object) -> None:
        services = await Services.open(settings, clock=clock)
        holder["services"] = services
        if not led:
            await messenger.start(services)
            services.start_reminders([messenger])
        elif messenger.shared:  # a worker answers whether it leads or not
            await messenger.start(services)

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
    app.bot_data["messenger"] = messenger
    return messenger


def conversation_locks(settings: Settings) -> Locks | None:
    """Return the locks of workers sharing the inbox (telegram.workers > 1), else None."""
    if settings.telegram_workers == 1:
        return None
    if not settings.storage_url:
        raise ConfigError(
            f"telegram.workers: expected 1 on SQLite (one process per database), got"
            f" {settings.telegram_workers} (set storage.url to share a PostgreSQL database)"
        )
    from storage.postgres.conversation_locks import ConversationLocks

    return ConversationLocks(settings.storage_url)


def send_pace(settings: Settings) -> Pace | None:
    """Return the Telegram send pace that workers share (telegram.workers > 1), else None."""
    if settings.telegram_workers == 1 or not settings.storage_url:
        return None
    from bot.messengers.telegram import OVERALL_RATE
    from storage.postgres.send_pace import SendPace

    # The bot's id (the token's part before ':') names its row: Telegram's limit is per bot.
    bot = settings.require_token().split(":", 1)[0]
    return SendPace(settings.storage_url, bot, OVERALL_RATE)


def telegram_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    clock: Clock | None = None,
    rate_limited: bool = True,
    led: bool = False,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """Build the Telegram bot's PTB Application (see `telegram_bot`)."""
    return telegram_bot(
        settings,
        request=request,
        get_updates_request=get_updates_request,
        clock=clock,
        rate_limited=rate_limited,
        led=led,
    ).application


class TelegramRole:
    """What a Telegram bot process does only while it leads: long polling and the reminders."""

    def __init__(self, app: Application[Any, Any, Any, Any, Any, Any], poll_timeout: int) -> None:
        self.app = app
        self.poll_timeout = poll_timeout

    async def lead(self) -> None:
        """Answer for the services, start the reminders, then poll Telegram."""
        services: Services = self.app.bot_data["services_holder"]["services"]
        messenger = self.app.bot_data["messenger"]
        # A worker's has answered since it started; a leader leading again still answers
        # (a second start would drain the inbox twice, and resend replies being sent).
        if not messenger.started:
            await messenger.start(services)
        services.start_reminders([messenger])
        assert self.app.updater is not None
        await self.app.updater.start_polling(
            timeout=timedelta(seconds=self.poll_timeout), allowed_updates=ALLOWED_UPDATES
        )

    async def step_down(self) -> None:
        """Stop polling and sending reminders; the updates in hand are still answered."""
        services: Services = self.app.bot_data["services_holder"]["services"]
        await services.scheduler.stop()
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()


async def run_telegram_led(
    settings: Settings, *, poll_timeout: int = 10, rate_limited: bool = True
) -> None:
    """Run the Telegram bot on a shared PostgreSQL database: poll and remind only as leader.

    Every process opens the database (a warm standby); the leader lock decides which one polls
    and sends reminders. SIGTERM or SIGINT stops it, as `run_polling` would.
    """
    from bot.leader import Leadership
    from storage.postgres.leader_lock import LeaderLock

    app = telegram_application(settings, led=True, rate_limited=rate_limited)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    leadership = Leadership(LeaderLock(settings.storage_url, bot_names(settings, telegram=True)))
    await app.initialize()
    try:
        assert app.post_init is not None and app.post_shutdown is not None
        await app.post_init(app)
        await app.start()  # handles what is polled; nothing is polled until this process leads
        try:
            await leadership.run(TelegramRole(app, poll_timeout), stopping)
        finally:
            await app.stop()
            if app.post_stop is not None:  # the updates in hand are answered before closing
                await app.post_stop(app)
    finally:
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)


def run_telegram(settings: Settings) -> None:
    """Start the Telegram bot (long polling, or a webhook by telegram.mode) until interrupted."""
    from telegram.error import InvalidToken

    try:
        if settings.telegram_mode == "webhook":
            asyncio.run(serve_telegram_webhook(settings))
            return
        if settings.storage_url:  # maybe one of several processes: poll only as the leader
            log.info("starting the Telegram bot (long polling while leading)")
            asyncio.run(run_telegram_led(settings))
            return
        app = telegram_application(settings)
        log.info("starting the Telegram bot (long polling)")
        # PTB deletes a webhook set earlier before it polls: Telegram answers getUpdates 409
        # while one is set.
        app.run_polling(allowed_updates=ALLOWED_UPDATES)
    except InvalidToken:
        raise _rejected_token() from None


def _rejected_token() -> ConfigError:
    # PTB's message quotes the whole token; say what is wrong without it.
    return ConfigError(
        "telegram.token: Telegram rejected the bot token (check TELEGRAM_BOT_TOKEN,"
        " or get a new token from @BotFather)"
    )


# Several processes on one PostgreSQL database: who leads, and what the others do meanwhile.


def bot_names(settings: Settings, *, telegram: bool = False, wecom: bool = False) -> list[str]:
    """Return the names of the messengers this process leads on a shared database.

    The Telegram bot's id is the public half of its token; WeCom's corp id and accounts are
    hashed. Never the secret: the names show in logs and in pg_stat_activity. A process leads
    every one of its names or none (`LeaderLock`), so a `run` and a `serve` of the same
    Telegram bot, or two `serve` of the same WeCom accounts, never both lead it.
    """
    parts = []
    if wecom:
        accounts = ",".join(sorted(settings.wecom_open_kfids))
        corp = f"{settings.wecom_corp_id}/{accounts}"
        parts.append(f"wecom {hashlib.sha256(corp.encode()).hexdigest()[:12]}")
    if telegram and settings.telegram_token:
        bot_id, colon, _ = settings.telegram_token.partition(":")
        if not (colon and bot_id.isdigit()):  # not a token's shape: keep all of it hidden
            bot_id = hashlib.sha256(settings.telegram_token.encode()).hexdigest()[:12]
        parts.append(f"telegram {bot_id}")
    return parts or ["bot"]


def leader_lock(settings: Settings, names: list[str]) -> tuple[Lock | None, Wakeups | None]:
    """Return the leader lock of `names` and their wake-ups on PostgreSQL; (None, None) on SQLite.

    On SQLite the bot is one process (its lock file refuses a second), which leads at once.
    """
    if not settings.storage_url:
        return None, None
    from storage.postgres.leader_lock import LeaderLock
    from storage.postgres.wakeups import Wakeups

    return LeaderLock(settings.storage_url, names), Wakeups(settings.storage_url, ", ".join(names))


class Served:
    """What `serve` and the Telegram webhook share: HTTP on http.listen, and a leader's tenure.

    Every process receives (its HTTP server keeps what is posted); the tenure's holder leads.
    """

    http: HttpServer | None = None
    tenure: Tenure | None = None
    receiving: Receiving | None = None

    @property
    def port(self) -> int:
        """Return the port bound (useful when http.listen asked for port 0)."""
        assert self.http is not None
        return self.http.port

    async def wait(self) -> None:
        """Run until the HTTP server stops (SIGTERM or Ctrl-C), or leading failed (raised)."""
        waits: list[asyncio.Future[None]] = []
        if self.http is not None:
            waits.append(asyncio.ensure_future(self.http.wait()))
        if self.tenure is not None and self.tenure.task is not None:
            waits.append(self.tenure.task)
        if not waits:
            return
        done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for finished in done:
            finished.result()

    async def stop_receiving(self) -> None:
        """Stop taking posts (HTTP), then leading (answering, polling, pulls, reminders)."""
        if self.http is not None:
            await self.http.stop()
        if self.tenure is not None:
            await self.tenure.stop()
        if self.receiving is not None:
            await self.receiving.close()


class TelegramWebhookServer(Served):
    """The Telegram bot in webhook mode: the bot, HTTP on http.listen, the webhook registered.

    Every process keeps what is posted to it in the inbox and answers 200; the one that leads
    (the only one on SQLite) hands kept updates on, answers, and sends the reminders.
    """

    def __init__(
        self,
        settings: Settings,
        request: BaseRequest | None = None,  # tests: the fake Bot API in process
        clock: Clock | None = None,
        *,
        timings: Mapping[str, float] | None = None,  # tests: shorter leader lock timings
    ) -> None:
        self.settings = settings
        self.request = request
        self.clock = clock
        self.timings = dict(timings or {})
        self.messenger: TelegramMessenger | None = None
        self.http = None
        self.tenure = None
        self.receiving = None

    @property
    def server(self) -> uvicorn.Server | None:
        """Return the uvicorn server (None before `start`)."""
        return self.http.server if self.http is not None else None

    async def start(self) -> None:
        """Open the bot, listen, then ask Telegram to post to the webhook (returns when set)."""
        from bot.http_server import HttpServer
        from bot.leader import Tenure
        from bot.messengers.telegram_webhook import register_webhook, telegram_webhook_routes
        from bot.standby import Receiving, ServingRole

        settings = self.settings
        webhook = settings.require_webhook()
        self.messenger = messenger = telegram_bot(
            settings, request=self.request, clock=self.clock, led=True
        )
        app = messenger.application
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)
        services: Services = app.bot_data["services_holder"]["services"]
        await app.start()
        messenger.open(services)  # posts are kept from now on, by every process
        lock, wakeups = leader_lock(settings, bot_names(settings, telegram=True))
        role = ServingRole(services, telegram=messenger, wakeups=wakeups)
        self.tenure = Tenure(role, lock, **self.timings)
        self.receiving = Receiving(self.tenure.leading, wakeups, telegram=messenger)
        routes = telegram_webhook_routes(webhook.path, webhook.secret, self.receiving)
        self.http = HttpServer(routes, settings.http_listen)
        await self.tenure.start()
        await self.http.start()
        await register_webhook(app.bot, webhook.url, webhook.secret, webhook.max_connections)
        log.info("Telegram bot listening on %s%s", settings.http_listen, webhook.path)

    async def stop(self) -> None:
        """Stop listening, finish the updates in hand, close the database.

        The webhook stays set: Telegram keeps what arrives meanwhile and posts it once the bot
        answers again.
        """
        await self.stop_receiving()
        if self.messenger is None:
            return
        app = self.messenger.application
        if app.running:
            await app.stop()
            if app.post_stop is not None:
                await app.post_stop(app)
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)


async def serve_telegram_webhook(settings: Settings) -> None:
    """Run the Telegram bot in webhook mode until SIGTERM or Ctrl-C."""
    server = TelegramWebhookServer(settings)

    def _exit(signum: int, frame: object) -> None:
        # uvicorn re-raises the signal it caught once it stopped; this handler, not the
        # default one that would end the process at once, lets the bot shut down in order.
        if server.server is None:
            raise KeyboardInterrupt  # still starting: stop there, and close what was opened
        server.server.should_exit = True

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _exit)
    try:
        await server.start()
        await server.wait()
    finally:
        await server.stop()


async def chat(settings: Settings, user: str) -> int:
    """Talk to the bot in this terminal as `user` until end of input; return the exit status."""
    from bot.messengers.console import MESSENGER, Console

    services = await Services.open(settings)
    key = ConversationKey(MESSENGER, user)
    console = Console(services, user_id=user, documents=services.store.documents_dir(key))
    await console.start(services)
    services.start_reminders([console], audience=key)  # reminders print into the chat
    try:
        await console.run()
    finally:
        await services.scheduler.stop()
        await services.close()
    return 0


# WeChat (WeCom customer service) and `complaint-bot serve`.

_WECOM_ENV = {
    "wecom.secret": " (or WECOM_SECRET)",
    "wecom.token": " (or WECOM_TOKEN)",
    "wecom.encoding_aes_key": " (or WECOM_AES_KEY)",
}


def require_wecom(settings: Settings, *keys: str) -> None:
    """Stop with one line naming the first WeChat setting that is missing."""
    for key in keys:
        if not getattr(settings, key.replace(".", "_")):
            env = _WECOM_ENV.get(key, "")
            raise ConfigError(f"{key}: not set{env}; see README, 'WeChat'")


def wecom_api(
    settings: Settings,
    clock: Clock,
    transport: httpx.AsyncBaseTransport | None = None,
    tokens: TokenCache | None = None,
) -> WecomApi:
    """Return the WeCom API client of the configured corp (close its `client` when done).

    Its access token is kept in `tokens` when given (the bot's database), so that a restart or
    a second process reuses it instead of fetching another.
    """
    import httpx

    from bot.messengers.wecom.api import WecomApi

    require_wecom(settings, "wecom.corp_id", "wecom.secret")
    assert settings.wecom_corp_id is not None and settings.wecom_secret is not None
    return WecomApi(
        httpx.AsyncClient(timeout=30, transport=transport),
        corp_id=settings.wecom_corp_id,
        secret=settings.wecom_secret,
        clock=clock.now,
        api_base=settings.wecom_api_base,
        tokens=tokens,
    )


def wecom_options(settings: Settings) -> WecomOptions:
    """Return what the WeChat messenger needs from the settings."""
    from bot.messengers.wecom.messenger import WecomOptions

    if not settings.wecom_open_kfids:
        raise ConfigError("wecom.open_kfids: no account (`complaint-bot wecom check` lists them)")
    return WecomOptions(
        open_kfids=tuple(settings.wecom_open_kfids),
        use_menus=settings.wecom_menu == "msgmenu",
        document_formats=frozenset(settings.wecom_document_formats),
        calendar_invites=settings.wecom_calendar_invites,
        max_file_size=settings.max_file_size,
        poll_interval=timedelta(seconds=settings.wecom_poll_interval),
    )


def wecom_crypto(settings: Settings) -> WecomCrypto:
    """Return the callback's signature and AES checks (a bad key stops start-up, unshown)."""
    from bot.messengers.wecom.crypto import CryptoError, WecomCrypto

    require_wecom(settings, "wecom.token", "wecom.encoding_aes_key", "wecom.corp_id")
    assert settings.wecom_token and settings.wecom_encoding_aes_key and settings.wecom_corp_id
    try:
        return WecomCrypto(
            settings.wecom_token, settings.wecom_encoding_aes_key, settings.wecom_corp_id
        )
    except CryptoError as exc:
        raise ConfigError(f"wecom.{exc}") from exc


def wecom_messenger(
    settings: Settings,
    services: Services,
    api: WecomApi,
    *,
    clock: Clock,
    options: WecomOptions | None = None,
    waking: Callable[[WecomMessenger], Waking] | None = None,
) -> tuple[WecomMessenger, list[BaseRoute]]:
    """Build the WeChat messenger on `services`' store, and its callback route.

    The route wakes the messenger's pull loops, or `waking(messenger)` when given (a process
    that may stand by hands the wake-up to the leader).
    """
    from bot.messengers.wecom.messenger import WecomMessenger
    from bot.messengers.wecom.server import wecom_routes
    from bot.wecom_state import wecom_state

    crypto = wecom_crypto(settings)
    messenger = WecomMessenger(
        options or wecom_options(settings),
        api,
        wecom_state(services.store),
        services.store,
        clock=clock,
    )
    woken = waking(messenger) if waking is not None else messenger
    routes = wecom_routes(settings.wecom_callback_path, crypto, woken, clock.now)
    return messenger, routes


class Serving(Served):
    """`complaint-bot serve`: the WeChat messenger behind the HTTP server, and Telegram beside
    it when a token is set (long polling, or a webhook on the same server by telegram.mode);
    one Services (engine, store, scheduler) for both.

    On PostgreSQL several may run on one database: each serves HTTP and keeps what arrives,
    and the leader pulls WeCom, polls Telegram, answers and sends the reminders.

    Tests hand in the fake platforms: `wecom_transport` for the WeCom API, `telegram_requests`
    (one for sending, one for getUpdates) for the Bot API; `timings` shortens the leader lock's.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        wecom_transport: httpx.AsyncBaseTransport | None = None,
        telegram_requests: tuple[BaseRequest, BaseRequest] | None = None,
        timings: Mapping[str, float] | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.wecom_transport = wecom_transport
        self.telegram_requests = telegram_requests
        self.timings = dict(timings or {})
        self.services: Services | None = None
        self.wecom: WecomMessenger | None = None
        self.telegram: TelegramMessenger | None = None
        self.http = None
        self.tenure = None
        self.receiving = None

    async def start(self) -> None:
        """Open everything and start receiving (returns once the port is bound)."""
        from bot.http_server import HttpServer
        from bot.leader import Tenure
        from bot.standby import Receiving, ServingRole

        settings = self.settings
        keys = ("wecom.corp_id", "wecom.secret", "wecom.token", "wecom.encoding_aes_key")
        require_wecom(settings, *keys)
        options = wecom_options(settings)  # all checked before anything is opened
        wecom_crypto(settings)
        webhook = bool(settings.telegram_token) and settings.telegram_mode == "webhook"
        if webhook and settings.require_webhook().path == settings.wecom_callback_path:
            raise ConfigError(
                f"telegram.webhook_path: expected a path other than wecom.callback_path,"
                f" got {settings.wecom_callback_path!r} for both"
            )
        from bot.wecom_state import wecom_state

        lock, wakeups = leader_lock(settings, bot_names(settings, telegram=True, wecom=True))
        # Leading is the tenure's to say, once it exists: the routes are built first.
        self.receiving = receiving = Receiving(asyncio.Event(), wakeups)
        self.services = services = await Services.open(settings, clock=self.clock)
        # The token is kept in the database storage.url (or storage.db_path) names.
        api = wecom_api(settings, self.clock, self.wecom_transport, wecom_state(services.store))
        self.wecom, routes = wecom_messenger(
            settings, services, api, clock=self.clock, options=options, waking=lambda _: receiving
        )
        receiving.wecom = self.wecom
        if settings.telegram_token:
            self.telegram = receiving.telegram = await self._open_telegram(services)
            if webhook:
                from bot.messengers.telegram_webhook import telegram_webhook_routes

                hook = settings.require_webhook()
                routes += telegram_webhook_routes(hook.path, hook.secret, receiving)
        else:
            log.info("no Telegram token (TELEGRAM_BOT_TOKEN): serving WeChat only")
        self.http = HttpServer(routes, settings.http_listen)
        role = ServingRole(
            services,
            telegram=self.telegram,
            poll=not webhook,
            wecom=self.wecom,
            wakeups=wakeups,
        )
        self.tenure = Tenure(role, lock, **self.timings)
        receiving.leading = self.tenure.leading
        await self.tenure.start()
        await self.http.start()
        if webhook and self.telegram is not None:
            from bot.messengers.telegram_webhook import register_webhook

            hook = settings.require_webhook()
            bot = self.telegram.application.bot
            await register_webhook(bot, hook.url, hook.secret, hook.max_connections)
            log.info("Telegram bot on a webhook beside WeChat (%s)", hook.path)
        elif self.telegram is not None:
            log.info("Telegram bot polling beside WeChat")
        log.info("WeChat bot listening on %s%s", settings.http_listen, settings.wecom_callback_path)

    async def _open_telegram(self, services: Services) -> TelegramMessenger:
        """Build the Telegram messenger and keep what it receives (answering waits to lead)."""
        from telegram.error import InvalidToken

        from bot.messengers.telegram import TelegramMessenger

        request, updates = self.telegram_requests or (None, None)
        telegram = TelegramMessenger(
            telegram_options(self.settings), request=request, get_updates_request=updates
        )
        app = telegram.application
        try:
            await app.initialize()
        except InvalidToken:
            raise _rejected_token() from None
        await app.start()
        telegram.open(services)
        return telegram

    async def stop(self) -> None:
        """Stop receiving (HTTP), then leading (pulls, polling, reminders); close the database."""
        await self.stop_receiving()
        if self.tenure is None and self.services is not None:  # start failed before leading
            await self.services.scheduler.stop()
        if self.telegram is not None:
            app = self.telegram.application
            if app.running:
                await app.stop()
            await self.telegram.stop()
            await app.shutdown()
        if self.wecom is not None:
            await self.wecom.stop()
            await self.wecom.api.client.aclose()
        if self.services is not None:
            await self.services.close()


async def serve(settings: Settings) -> int:
    """Run `complaint-bot serve` until interrupted; return the exit status."""
    serving = Serving(settings)
    try:
        await serving.start()
        await serving.wait()
    finally:
        await serving.stop()
    return 0


def run_serve(settings: Settings) -> int:
    """Run `complaint-bot serve` in its own event loop."""
    return asyncio.run(serve(settings))
