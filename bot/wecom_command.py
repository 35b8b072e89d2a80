"""`complaint-bot serve` and `complaint-bot wecom link|check`: WeChat via WeCom customer service.

`serve` starts the HTTP server (Starlette on uvicorn) with the WeChat messenger, its pull loops
and the reminder scheduler; `wecom link` prints the link for a poster or QR code; `wecom check`
tries the credentials and lists the customer-service accounts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import uvicorn

from bot.app import Services
from bot.clock import Clock, SystemClock
from bot.config import ConfigError, Settings
from bot.messengers.wecom.api import TokenCache, WecomApi, WecomError
from bot.messengers.wecom.crypto import CryptoError, WecomCrypto
from bot.messengers.wecom.messenger import Limits, WecomMessenger
from bot.messengers.wecom.server import build_app, wecom_routes
from bot.messengers.wecom.updates import MESSENGER
from bot.wecom_state import wecom_state

log = logging.getLogger(__name__)


def require(settings: Settings, *keys: str) -> None:
    """Stop with one line naming the first WeChat setting that is missing."""
    for key in keys:
        if not getattr(settings, key.replace(".", "_")):
            env = {
                "wecom.secret": " (or WECOM_SECRET)",
                "wecom.token": " (or WECOM_TOKEN)",
                "wecom.encoding_aes_key": " (or WECOM_AES_KEY)",
            }.get(key, "")
            raise ConfigError(f"{key}: not set{env}; see README, 'WeChat'")


def api_of(
    settings: Settings,
    clock: Clock,
    transport: httpx.AsyncBaseTransport | None = None,
    tokens: TokenCache | None = None,
) -> WecomApi:
    """Return the API client for the configured corp (its token kept in `tokens`, if given)."""
    require(settings, "wecom.corp_id", "wecom.secret")
    client = httpx.AsyncClient(timeout=30, transport=transport)
    assert settings.wecom_corp_id is not None and settings.wecom_secret is not None
    return WecomApi(
        client,
        corp_id=settings.wecom_corp_id,
        secret=settings.wecom_secret,
        clock=clock.now,
        api_base=settings.wecom_api_base,
        tokens=tokens,
    )


@dataclass
class WecomServer:
    """The running WeChat bot: services, messenger and the HTTP server."""

    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    transport: httpx.AsyncBaseTransport | None = None  # tests: the fake WeCom in process
    services: Services | None = None
    messenger: WecomMessenger | None = None
    server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Open everything and start listening (returns once the port is bound)."""
        settings = self.settings
        require(settings, "wecom.corp_id", "wecom.secret", "wecom.token", "wecom.encoding_aes_key")
        if not settings.wecom_open_kfids:
            raise ConfigError(
                "wecom.open_kfids: no account (`complaint-bot wecom check` lists them)"
            )
        assert settings.wecom_token and settings.wecom_encoding_aes_key and settings.wecom_corp_id
        try:
            crypto = WecomCrypto(
                settings.wecom_token, settings.wecom_encoding_aes_key, settings.wecom_corp_id
            )
        except CryptoError as exc:
            raise ConfigError(f"wecom.{exc}") from exc
        services = await Services.open(settings, clock=self.clock)
        state = wecom_state(services.store)  # in the database storage.url (or db_path) names
        limits = Limits(
            use_menus=settings.wecom_menu == "msgmenu",
            document_formats=frozenset(settings.wecom_document_formats),
            calendar_invites=settings.wecom_calendar_invites,
            max_file_size=settings.max_file_size,
        )
        messenger = WecomMessenger(
            services.engine,
            services.store,
            state,
            api_of(settings, self.clock, self.transport, tokens=state),
            open_kfids=settings.wecom_open_kfids,
            clock=self.clock,
            limits=limits,
            poll_interval=timedelta(seconds=settings.wecom_poll_interval),
            default_language=settings.default_language,
        )
        routes = wecom_routes(settings.wecom_callback_path, crypto, messenger, self.clock.now)
        host, _, port = settings.http_listen.rpartition(":")
        config = uvicorn.Config(
            build_app(routes),
            host=host.strip("[]"),
            port=int(port),
            log_config=None,
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self.services, self.messenger = services, messenger
        messenger.start()
        services.scheduler.start(messenger.deliver_reminder, MESSENGER)
        self._task = asyncio.create_task(self.server.serve(), name="http")
        while not self.server.started:
            if self._task.done():
                await self._task
                raise ConfigError(f"http.listen: could not listen on {settings.http_listen}")
            await asyncio.sleep(0.01)
        log.info("WeChat bot listening on %s%s", settings.http_listen, settings.wecom_callback_path)

    @property
    def port(self) -> int:
        """Return the port bound (useful when http.listen asked for port 0)."""
        assert self.server is not None
        return int(self.server.servers[0].sockets[0].getsockname()[1])

    async def wait(self) -> None:
        """Run until the server stops (Ctrl-C or SIGTERM)."""
        if self._task is not None:
            await self._task

    async def stop(self) -> None:
        """Stop listening, the pull loops and the scheduler; close the database."""
        if self.server is not None:
            self.server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.messenger is not None:
            await self.messenger.stop()
            await self.messenger.api.client.aclose()
        if self.services is not None:
            await self.services.scheduler.stop()
            await self.services.close()


async def serve(settings: Settings) -> int:
    """Run the WeChat bot until interrupted."""
    server = WecomServer(settings)
    try:
        await server.start()
        await server.wait()
    finally:
        await server.stop()
    return 0


async def link(
    settings: Settings, scene: str | None, transport: httpx.AsyncBaseTransport | None = None
) -> list[str]:
    """Return the customer-service link of each configured account (for a poster, a QR code)."""
    api = api_of(settings, SystemClock(), transport)
    try:
        if not settings.wecom_open_kfids:
            raise ConfigError(
                "wecom.open_kfids: no account (`complaint-bot wecom check` lists them)"
            )
        return [await api.contact_link(kfid, scene) for kfid in settings.wecom_open_kfids]
    finally:
        await api.client.aclose()


async def check(settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> list[str]:
    """Fetch a token and list the accounts this secret manages; return lines to print."""
    api = api_of(settings, SystemClock(), transport)
    try:
        await api.token()
        lines = [f"ok  token for corp {settings.wecom_corp_id}"]
        configured = set(settings.wecom_open_kfids)
        for account in await api.accounts():
            kfid = str(account.get("open_kfid", ""))
            mark = "configured" if kfid in configured else "not in wecom.open_kfids"
            lines.append(f"    {kfid}  {account.get('name', '')}  ({mark})")
        return lines
    finally:
        await api.client.aclose()


def run(settings: Settings, args: Any) -> int:
    """Run `serve` or `wecom link|check` from parsed arguments."""
    try:
        if args.command == "serve":
            return asyncio.run(serve(settings))
        if args.wecom_command == "link":
            lines = asyncio.run(link(settings, args.scene))
        else:
            lines = asyncio.run(check(settings))
    except WecomError as exc:
        print(f"complaint-bot: WeCom refused: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0
