"""WeCom's callback URL (GET: the URL check, POST: "news, pull"), as routes for bot.http_server.

The POST is verified and decrypted, answered `success` at once, and only wakes the account's
pull loop: WeChat waits 5 s and retries 3 times, and the work happens in the pull. The GET
must answer within 1 s with the decrypted echostr.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.messengers.wecom import envelope
from bot.messengers.wecom.crypto import CryptoError, WecomCrypto

log = logging.getLogger(__name__)


class Waking(Protocol):
    """What a callback wakes: the messenger's pull loops, or the leader's on another process."""

    def wake(self, open_kfid: str, token: str | None) -> bool:
        """Ask for a pull of the account; False for an account not configured here."""
        ...


def wecom_routes(
    path: str, crypto: WecomCrypto, messenger: Waking, clock: Callable[[], datetime]
) -> list[BaseRoute]:
    """Return the callback route for one WeCom corp."""

    def _query(request: Request) -> tuple[str, str, str]:
        q = request.query_params
        return q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", "")

    async def check(request: Request) -> Response:
        signature, timestamp, nonce = _query(request)
        echostr = request.query_params.get("echostr", "")
        try:
            plain = crypto.open(signature, timestamp, nonce, echostr, now=clock())
        except CryptoError as exc:
            log.warning("wecom: refused a URL check: %s", exc)
            return PlainTextResponse("forbidden", status_code=403)
        return PlainTextResponse(plain.decode(errors="replace"))

    async def callback(request: Request) -> Response:
        signature, timestamp, nonce = _query(request)
        body = await request.body()
        try:
            encrypted = envelope.encrypted_field(body)
            plain = crypto.open(signature, timestamp, nonce, encrypted, now=clock())
            wakeup = envelope.wakeup(plain)
        except CryptoError as exc:
            log.warning("wecom: refused a callback: %s", exc)
            return PlainTextResponse("forbidden", status_code=403)
        if wakeup is not None and not messenger.wake(wakeup.open_kfid, wakeup.token):
            log.info("wecom: a callback for an account not configured here; ignored")
        return PlainTextResponse("success")

    return [Route(path, check, methods=["GET"]), Route(path, callback, methods=["POST"])]
