"""An async client for the dozen WeCom endpoints the messenger calls, on httpx.

The access token is fetched with the corp secret, kept until shortly before it expires, and
fetched again when WeCom says it is invalid or expired (40001, 40014, 42001). Given a
`TokenCache` (the database), a token outlives the process: a restart or a second process uses
the one kept instead of fetching another, since WeCom counts fetches against a quota. Tokens
travel in query strings; bot.logs masks them in anything logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx

from flows.errors import ComplaintBotError, StorageError

log = logging.getLogger(__name__)

TOKEN_ERRORS = frozenset({40001, 40014, 42001})
MARGIN = timedelta(minutes=5)  # fetch a new token this long before the old one expires
_FILENAME = re.compile(r"""filename\*?=(?:UTF-8'')?"?([^";]+)"?""", re.IGNORECASE)


class WecomError(ComplaintBotError):
    """WeCom answered with an error code (or could not be reached: code -1)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"WeCom error {code}: {message}")
        self.code = code
        self.message = message


class MediaTooLarge(WecomError):
    """A file is larger than the bot accepts; the download stopped at the limit."""


class TokenCache(Protocol):
    """Where access tokens are kept beyond one process, keyed by corp and secret hash."""

    async def load_token(self, corp_id: str, secret_hash: str) -> tuple[str, datetime] | None:
        """Return the kept token and when it expires (None: none kept)."""
        ...

    async def save_token(
        self, corp_id: str, secret_hash: str, token: str, expires_at: datetime, fetched_at: datetime
    ) -> None:
        """Keep a freshly fetched token in place of the one before."""
        ...


@dataclass(frozen=True, slots=True)
class Media:
    """A downloaded file: its bytes, and the name and type WeCom gave it."""

    content: bytes
    file_name: str | None
    mime_type: str | None


@dataclass(frozen=True, slots=True)
class Page:
    """One answer of kf/sync_msg: messages, the cursor after them, and whether more wait."""

    messages: list[dict[str, Any]]
    next_cursor: str
    has_more: bool


class WecomApi:
    """Call WeCom with one corp's customer-service secret."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        corp_id: str,
        secret: str,
        clock: Callable[[], datetime],
        api_base: str = "https://qyapi.weixin.qq.com/cgi-bin",
        tokens: TokenCache | None = None,
    ) -> None:
        self.client = client
        self.corp_id = corp_id
        self._secret = secret
        # The cache is told which secret a token belongs to by a hash, never the secret.
        self._secret_hash = hashlib.sha256(secret.encode()).hexdigest()
        self.clock = clock
        self.api_base = api_base.rstrip("/")
        self.tokens = tokens
        self._token: str | None = None
        self._expires = datetime.min.replace(tzinfo=clock().tzinfo)
        # The pull loops and the scheduler may all find the token expired at once: one fetches.
        self._fetching = asyncio.Lock()

    async def token(self, *, refused: str | None = None) -> str:
        """Return a valid access token other than `refused` (one WeCom just refused).

        The token in memory, else the one kept in the cache (another process, or this one
        before a restart, may have fetched it), else a new one, which the cache then keeps.
        """
        if self._usable(self._token, self._expires, refused):
            assert self._token is not None
            return self._token
        async with self._fetching:
            if self._usable(self._token, self._expires, refused):
                assert self._token is not None
                return self._token
            kept = await self._kept()
            if kept is not None and self._usable(*kept, refused):
                self._token, self._expires = kept
                return kept[0]
            fetched_at = self.clock()
            data = await self._call(
                "GET", "gettoken", params={"corpid": self.corp_id, "corpsecret": self._secret}
            )
            self._token = str(data["access_token"])
            self._expires = fetched_at + timedelta(seconds=int(data.get("expires_in", 7200)))
            await self._keep(self._token, self._expires, fetched_at)
            return self._token

    def _usable(self, token: str | None, expires: datetime, refused: str | None) -> bool:
        return token is not None and token != refused and self.clock() < expires - MARGIN

    async def _kept(self) -> tuple[str, datetime] | None:
        if self.tokens is None:
            return None
        try:
            return await self.tokens.load_token(self.corp_id, self._secret_hash)
        except StorageError:
            # Without the database a fetch still works; it only costs one of the quota.
            log.warning("wecom: could not read the kept access token; fetching one", exc_info=True)
            return None

    async def _keep(self, token: str, expires: datetime, fetched_at: datetime) -> None:
        if self.tokens is None:
            return
        try:
            await self.tokens.save_token(
                self.corp_id, self._secret_hash, token, expires, fetched_at
            )
        except StorageError:
            log.warning("wecom: could not keep the access token; it lives in memory", exc_info=True)

    async def call(
        self, method: str, path: str, *, params: dict[str, str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """Call an endpoint with the access token; fetch a new token once if it was refused."""
        refused: str | None = None
        for attempt in (0, 1):
            token = await self.token(refused=refused)
            query = {**(params or {}), "access_token": token}
            try:
                return await self._call(method, path, params=query, **kwargs)
            except WecomError as exc:
                if exc.code not in TOKEN_ERRORS or attempt == 1:
                    raise
                refused = token
        raise AssertionError("unreachable")

    async def sync_msg(
        self, open_kfid: str, cursor: str | None, token: str | None, limit: int = 1000
    ) -> Page:
        """Return the next page of messages for an account after `cursor`."""
        body: dict[str, Any] = {"open_kfid": open_kfid, "limit": limit}
        if cursor:
            body["cursor"] = cursor
        if token:
            body["token"] = token
        data = await self.call("POST", "kf/sync_msg", json=body)
        return Page(
            messages=list(data.get("msg_list") or []),
            next_cursor=str(data.get("next_cursor") or cursor or ""),
            has_more=bool(data.get("has_more")),
        )

    async def send_msg(self, message: dict[str, Any]) -> str:
        """Send one message (text, msgmenu, file...); return its msgid."""
        data = await self.call("POST", "kf/send_msg", json=message)
        return str(data.get("msgid", ""))

    async def send_on_event(self, code: str, message: dict[str, Any]) -> str:
        """Send the one message an event's code allows (a welcome_code: within 20 s, once)."""
        data = await self.call("POST", "kf/send_msg_on_event", json={"code": code, **message})
        return str(data.get("msgid", ""))

    async def upload(self, kind: str, file_name: str, content: bytes, mime: str) -> str:
        """Upload a temporary file (kept 3 days by WeCom); return its media_id."""
        files = {"media": (file_name, content, mime)}
        data = await self.call("POST", "media/upload", params={"type": kind}, files=files)
        return str(data["media_id"])

    async def media(self, media_id: str, max_bytes: int) -> Media:
        """Download a file the person sent, stopping past `max_bytes` (MediaTooLarge)."""
        refused: str | None = None
        for attempt in (0, 1):
            token = await self.token(refused=refused)
            params = {"access_token": token, "media_id": media_id}
            try:
                return await self._download(params, max_bytes)
            except WecomError as exc:
                if exc.code not in TOKEN_ERRORS or attempt == 1:
                    raise
                refused = token
        raise AssertionError("unreachable")

    async def contact_link(self, open_kfid: str, scene: str | None) -> str:
        """Return the link that opens a chat with the account (for a poster or a QR code)."""
        body = {"open_kfid": open_kfid, **({"scene": scene} if scene else {})}
        data = await self.call("POST", "kf/add_contact_way", json=body)
        return str(data["url"])

    async def accounts(self) -> list[dict[str, Any]]:
        """Return the customer-service accounts this secret manages."""
        data = await self.call("POST", "kf/account/list", json={"offset": 0, "limit": 100})
        return list(data.get("account_list") or [])

    async def service_state(self, open_kfid: str, external_userid: str) -> int:
        """Return who holds a person's session: 0-1 the API, 2-3 people, 4 ended."""
        body = {"open_kfid": open_kfid, "external_userid": external_userid}
        data = await self.call("POST", "kf/service_state/get", json=body)
        return int(data.get("service_state", 0))

    async def _download(self, params: dict[str, str], max_bytes: int) -> Media:
        url = f"{self.api_base}/media/get"
        try:
            async with self.client.stream("GET", url, params=params) as response:
                kind = response.headers.get("content-type", "")
                if response.status_code >= 500:
                    raise WecomError(-1, f"HTTP {response.status_code}")
                if kind.startswith(("application/json", "text/plain")):
                    raw = await response.aread()
                    _check(httpx.Response(200, content=raw).json())
                    raise WecomError(-1, "media/get answered JSON without an error")
                length = int(response.headers.get("content-length") or 0)
                if length > max_bytes:
                    raise MediaTooLarge(-2, f"{length} bytes announced, {max_bytes} accepted")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise MediaTooLarge(-2, f"over {max_bytes} bytes")
                    chunks.append(chunk)
                disposition = response.headers.get("content-disposition", "")
        except httpx.HTTPError as exc:
            raise WecomError(-1, f"{type(exc).__name__}") from exc
        found = _FILENAME.search(disposition)
        mime = kind.split(";")[0].strip() or None
        return Media(b"".join(chunks), found[1] if found else None, mime)

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self.client.request(method, f"{self.api_base}/{path}", **kwargs)
        except httpx.HTTPError as exc:
            raise WecomError(-1, f"{path}: {type(exc).__name__}") from exc
        if response.status_code >= 500:
            raise WecomError(-1, f"{path}: HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError as exc:
            raise WecomError(-1, f"{path}: not JSON (HTTP {response.status_code})") from exc
        return _check(data)


def _check(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise WecomError(-1, "not a JSON object")
    code = int(data.get("errcode") or 0)
    if code:
        raise WecomError(code, str(data.get("errmsg", "")))
    return data
