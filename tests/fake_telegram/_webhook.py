"""``WebhookPusher``: post the fake's queued updates to the webhook the bot set, as Telegram does.

Telegram posts each update as one JSON body to the https URL given to ``setWebhook``, with the
``secret_token`` in the ``X-Telegram-Bot-Api-Secret-Token`` header, and keeps posting it until
the answer is 2xx (then it is confirmed and leaves the queue). Here the posts go one at a time,
in update_id order; a refused or failed post is retried after ``retry_delay`` seconds (Telegram
waits longer, and up to ``max_connections`` posts run at once there).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Self
from urllib.parse import urlsplit, urlunsplit

import httpx

if TYPE_CHECKING:
    from ._api import FakeBotAPI

__all__ = ["SECRET_HEADER", "Push", "WebhookPusher"]

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass(frozen=True)
class Push:
    """One post of an update to the webhook: its update_id and the HTTP status (0: no answer)."""

    update_id: int
    status: int


class WebhookPusher:
    """``async with WebhookPusher(fake, target="http://127.0.0.1:PORT"):`` delivers by webhook.

    The webhook URL is public (https, behind a proxy); ``target`` stands for that proxy: the
    URL's scheme and host are replaced by it and its path kept. ``transport`` (for example
    ``httpx.ASGITransport(app)``) posts to an ASGI app in process instead. Nothing is posted
    while no webhook is set (the bot polls then).
    """

    def __init__(
        self,
        api: FakeBotAPI,
        *,
        target: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_delay: float = 0.05,
        timeout: float = 10.0,
    ) -> None:
        self.api = api
        self.target = target
        self.retry_delay = retry_delay
        self.pushes: list[Push] = []
        self._client = httpx.AsyncClient(transport=transport, timeout=timeout)
        self._task: asyncio.Task[None] | None = None

    def url_for(self, webhook_url: str) -> str:
        """Return where a post to ``webhook_url`` really goes."""
        if self.target is None:
            return webhook_url
        public, proxy = urlsplit(webhook_url), urlsplit(self.target)
        return urlunsplit((proxy.scheme, proxy.netloc, public.path, public.query, ""))

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="fake-telegram-webhook")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._client.aclose()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def statuses(self, update_id: int) -> list[int]:
        """Return the status of every post of one update, in order."""
        return [push.status for push in self.pushes if push.update_id == update_id]

    async def _run(self) -> None:
        while True:
            changed = self.api.changed
            queued = self.api.webhook_next()
            if queued is None:
                await changed.wait()
                continue
            webhook = self.api.webhook
            headers = {}
            if webhook.get("secret_token"):
                headers[SECRET_HEADER] = str(webhook["secret_token"])
            try:
                response = await self._client.post(
                    self.url_for(str(webhook["url"])), json=queued.update, headers=headers
                )
                status, error = (
                    response.status_code,
                    f"Wrong response from the webhook: {response.status_code} {response.reason_phrase}",
                )
            except httpx.HTTPError as exc:
                status, error = 0, f"Connection failed: {type(exc).__name__}"
            self.pushes.append(Push(queued.update_id, status))
            if 200 <= status < 300:
                self.api.webhook_confirm(queued)
            else:
                self.api.webhook_failed(error)
                await asyncio.sleep(self.retry_delay)
