"""The bot's WeChat messenger wired to the fake WeCom, in process, on a manual clock.

`wecom_bot(tmp)` yields a `WecomBot`: the real Services (engine, store, scheduler, letters)
built as bot/app.py builds them, the WeChat messenger and its HTTP app, the fake WeCom behind
httpx.ASGITransport, and callbacks posted back to the bot the same way. The database is SQLite
under `tmp`, or the PostgreSQL one `storage_url` names; the access token is kept in it, as
`serve` keeps it. `bot.customer(id)`
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

from bot.app import Services
from bot.clock import ManualClock
from bot.config import Settings
from bot.messengers.wecom.api import WecomApi
from bot.messengers.wecom.crypto import WecomCrypto
from bot.messengers.wecom.messenger import Limits, WecomMessenger
from bot.messengers.wecom.server import build_app, wecom_routes
from bot.messengers.wecom.updates import MESSENGER
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
        **limits: Any,
    ) -> None:
        self.tmp = tmp
        self.clock = clock
        self.fake = fake
        self.limits = Limits(**limits)
        self.settings = Settings.defaults().replace(
            storage_url=storage_url,
            storage_db_path=str(tmp / "bot.sqlite3"),
            storage_data_dir=str(tmp / "data"),
            quiet_hours="off",
        )
        self.services: Services | None = None
        self.messenger: WecomMessenger | None = None
        self.clients: list[httpx.AsyncClient] = []
        self.callbacks: Callbacks | None = None

    async def start(self) -> None:
        services = await Services.open(self.settings, clock=self.clock)
        state = wecom_state(services.store)
        api_client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.fake.app))
        api = WecomApi(
            api_client,
            corp_id=self.fake.corp_id,
            secret=self.fake.secret,
            clock=self.clock.now,
            api_base="http://wecom.test/cgi-bin",
            tokens=state,
        )
        messenger = WecomMessenger(
            services.engine,
            services.store,
            state,
            api,
            open_kfids=self.fake.open_kfids,
            clock=self.clock,
            limits=self.limits,
        )
        crypto = WecomCrypto(CALLBACK_TOKEN, AES_KEY, self.fake.corp_id)
        app = build_app(wecom_routes("/wecom/kf", crypto, messenger, self.clock.now))
        bot_client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bot.test"
        )
        self.clients = [api_client, bot_client]
        if self.callbacks is None:
            self.callbacks = Callbacks(self.fake, bot_client)
        else:
            self.callbacks.bot = bot_client
        messenger.start()
        services.scheduler.start(messenger.deliver_reminder, MESSENGER)
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


@asynccontextmanager
async def wecom_bot(tmp: Path, storage_url: str = "", **limits: Any) -> AsyncIterator[WecomBot]:
    """Yield a started bot on the fake WeCom (limits: overrides of messenger.Limits)."""
    clock = ManualClock(NOW)
    fake = FakeWecom(clock.now)
    bot = WecomBot(tmp, clock, fake, storage_url, **limits)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()
