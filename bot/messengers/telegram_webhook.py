"""Telegram's webhook: the route Telegram posts updates to, and registering it with setWebhook.

Telegram sends each update as one JSON POST with the secret given to setWebhook in a header,
and repeats the POST until it gets a 2xx answer. So the answer is 200 only once the messenger
has accepted the update (`TelegramMessenger.accept`); anything else makes Telegram try again.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any, Protocol

from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import Bot

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ("message", "callback_query")
# One update is a message of at most 4,096 characters with its entities, or a button press:
# a few kB. A body past this is not from Telegram, and is refused before it is read whole.
MAX_BODY = 1024 * 1024


class Accepting(Protocol):
    """What the route hands updates to (the Telegram messenger)."""

    async def accept(self, updates: list[dict[str, Any]]) -> None:
        """Return once these updates are accepted."""


class _TooLarge(Exception):
    pass


def telegram_webhook_routes(
    path: str, secret: str, messenger: Accepting, *, max_body: int = MAX_BODY
) -> list[BaseRoute]:
    """Return the route Telegram posts updates to: checked, size-capped, accepted, then 200."""
    expected = secret.encode()

    async def webhook(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode("latin-1")
        if not hmac.compare_digest(given, expected):
            log.warning("telegram webhook: refused a call without the right secret")
            return PlainTextResponse("forbidden", status_code=403)
        try:
            body = await _read_capped(request, max_body)
        except _TooLarge:
            log.warning("telegram webhook: refused a body over %d bytes", max_body)
            return PlainTextResponse("too large", status_code=413)
        except ClientDisconnect:
            return PlainTextResponse("gone", status_code=400)
        try:
            update = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            log.warning("telegram webhook: refused a body that is not JSON")
            return PlainTextResponse("not JSON", status_code=400)
        if not isinstance(update, dict) or not _is_update_id(update.get("update_id")):
            log.warning("telegram webhook: refused JSON that is not an update")
            return PlainTextResponse("not an update", status_code=400)
        try:
            await messenger.accept([update])
        except Exception:
            # Telegram will post it again: nothing is lost, and the log says why.
            log.exception("telegram webhook: could not accept update %s", update["update_id"])
            return PlainTextResponse("try again", status_code=500)
        return PlainTextResponse("ok")

    return [Route(path, webhook, methods=["POST"])]


def _is_update_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


async def _read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:  # a chunked body, or one longer than it said
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


async def register_webhook(bot: Bot, url: str, secret: str, max_connections: int) -> None:
    """Tell Telegram to post updates to `url` with `secret` (polling stops working: 409)."""
    await bot.set_webhook(
        url,
        secret_token=secret,
        allowed_updates=list(ALLOWED_UPDATES),
        max_connections=max_connections,
    )
    log.info("telegram: webhook set to %s", url)
