"""The bot's WeChat messenger wired to the fake WeCom, in process, on a manual clock.

`wecom_bot(tmp)` yields a `WecomBot`: the real Services (engine, store, scheduler, letters),
the WeChat messenger and its callback route, all built by bot/app.py, the fake WeCom behind
httpx.ASGITransport, and callbacks posted back to the bot the same way (no sockets). The
database is SQLite under `tmp`, or the PostgreSQL one `storage_url` names; the access token is
kept in it, as `serve` keeps it. `bot.customer(id)`
makes a person; `await bot.settle()` waits until every callback was pulled and answered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fake_wecom import AES_KEY, CALLBACK_TOKEN, Callbacks, FakeCustomer, FakeWecom

from bot.app import Services, wecom_api, wecom_messenger
from bot.clock import ManualClock
from bot.config import Settings
from bot.http_server import build_app
from bot.messengers.wecom.messenger import WecomMessenger, WecomOptions
from bot.wecom_state import wecom_state

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
DATA = Path(__file__).parent / "data"


class WecomBot:
    """Everything of one running WeChat bot and the fake platform around it."""

    def __init__(
        self,
        tmp: Path,
        clock: ManualClock,
        fake: FakeWecom,
        storage_url: str = "",
        **options: Any,
    ) -> None:
        self.tmp = tmp
        self.clock = clock
        self.fake = fake
        self.options = WecomOptions(open_kfids=fake.open_kfids, **options)
        self.settings = wecom_settings(tmp, fake).replace(
            quiet_hours="off", storage_url=storage_url
        )
        self.services: Services | None = None
        self.messenger: WecomMessenger | None = None
        self.clients: list[httpx.AsyncClient] = []
        self.callbacks: Callbacks | None = None

    async def start(self) -> None:
        services = await Services.open(self.settings, clock=self.clock)
        transport = httpx.ASGITransport(app=self.fake.app)
        api = wecom_api(self.settings, self.clock, transport, wecom_state(services.store))
        messenger, routes = wecom_messenger(
            self.settings, services, api, clock=self.clock, options=self.options
        )
        bot_client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=build_app(routes)), base_url="http://bot.test"
        )
        self.clients = [api.client, bot_client]
        if self.callbacks is None:
            self.callbacks = Callbacks(self.fake, bot_client)
        else:
            self.callbacks.bot = bot_client
        await messenger.start(services)
        services.start_reminders([messenger])
        self.services, self.messenger = services, messenger

    async def stop(self) -> None:
        if self.messenger is not None:
            await self.messenger.stop()
        if self.services is not None:
            await self.services.scheduler.stop()
            await self.services.close()
        for client in self.clients:
            await client.aclose()

    def customer(self, external_userid: str = "wmCustomerAlice01") -> FakeCustomer:
        assert self.callbacks is not None
        return FakeCustomer(self.fake, self.callbacks, external_userid)

    async def settle(self) -> None:
        assert self.messenger is not None
        await self.messenger.settle()

    async def say(self, customer: FakeCustomer, text: str) -> str:
        """Send text, wait for the answer, and return what the customer read."""
        await customer.send_text(text)
        await self.settle()
        return "\n".join(m.shown for m in customer.new())

    async def tap(self, customer: FakeCustomer, label: str) -> str:
        """Tap a menu item, wait for the answer, return what the customer read."""
        await customer.click_menu(label)
        await self.settle()
        return "\n".join(m.shown for m in customer.new())

    async def jump(self, delta: timedelta) -> None:
        """Move the clock, and let the scheduler send (or defer) what fell due."""
        assert self.services is not None
        self.clock.advance(delta)
        await self.services.scheduler.settle()


def wecom_settings(tmp: Path, fake: FakeWecom) -> Settings:
    """Settings for a bot on the fake WeCom, its database and files under `tmp`."""
    return Settings.defaults().replace(
        storage_db_path=str(tmp / "bot.sqlite3"),
        storage_data_dir=str(tmp / "data"),
        http_listen="127.0.0.1:0",
        wecom_corp_id=fake.corp_id,
        wecom_secret=fake.secret,
        wecom_token=CALLBACK_TOKEN,
        wecom_encoding_aes_key=AES_KEY,
        wecom_open_kfids=fake.open_kfids,
        wecom_api_base="http://wecom.test/cgi-bin",
    )


@asynccontextmanager
async def wecom_bot(tmp: Path, storage_url: str = "", **options: Any) -> AsyncIterator[WecomBot]:
    """Yield a started bot on the fake WeCom (options: overrides of WecomOptions)."""
    clock = ManualClock(NOW)
    fake = FakeWecom(clock.now)
    bot = WecomBot(tmp, clock, fake, storage_url, **options)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


@asynccontextmanager
async def quick_bot(tmp: Path, request: Any) -> AsyncIterator[WecomBot]:
    """Yield a started bot whose deadlines are a second long: on SQLite, or on PostgreSQL
    where `request` (a pytest FixtureRequest) was parametrized with "postgres"."""
    on_postgres = getattr(request, "param", "sqlite") == "postgres"
    url = str(request.getfixturevalue("pg_url")) if on_postgres else ""
    clock = ManualClock(NOW)
    bot = WecomBot(tmp, clock, FakeWecom(clock.now), url)
    bot.settings = bot.settings.replace(deadline_override="1s")
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()
