"""``FakeBotAPI``: an in-memory Telegram Bot API server.

It speaks the real wire format (``{"ok": true, "result": ...}`` /
``{"ok": false, "error_code": N, "description": ...}``), keeps per-chat message ids, stores
uploaded and user-sent files, and records every call. Transports: :class:`InProcessRequest`
(no sockets) and :class:`FakeBotAPIServer` (loopback HTTP) both end in :meth:`FakeBotAPI.dispatch`.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import math
import mimetypes
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._formatting import EntityParseError, parse_formatted, strip_and_shift, utf16_len
from ._http import (
    ApiError,
    HttpResponse,
    UploadedFile,
    decode_params,
    error_response,
    json_response,
    split_path,
)
from ._media import image_size
from ._records import ApiCall, CallbackAnswer, SentMessage, StoredFile

if TYPE_CHECKING:
    from telegram import Bot
    from telegram.ext import ApplicationBuilder

    from ._request import InProcessRequest
    from ._users import FakeUser

JSON = dict[str, Any]
Handler = Callable[[JSON, dict[str, UploadedFile]], Awaitable[Any]]

__all__ = ["DEFAULT_TOKEN", "FakeBotAPI"]

DEFAULT_TOKEN = "7000000001:AAFakeTokenForTestsOnly0123456789ab"

MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024
MAX_UPLOAD_SIZE = 50 * 1024 * 1024
MAX_PHOTO_UPLOAD_SIZE = 10 * 1024 * 1024
# Telegram answers at most one cut-off long poll a 409 at once every 3 s; later ones wait 3 s
# first (tdlib/telegram-bot-api, Client::fail_query_conflict).
CONFLICT_DELAY = 3.0

_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_INLINE_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_FILE_DIRS = {
    "photo": "photos",
    "document": "documents",
    "voice": "voice",
    "video": "videos",
    "sticker": "stickers",
    "audio": "music",
    "animation": "animations",
    "video_note": "video_notes",
}
_FILE_ID_PREFIX = {
    "photo": "AgACAgIAAxkBAAI",
    "document": "BQACAgIAAxkBAAI",
    "voice": "AwACAgIAAxkBAAI",
    "video": "BAACAgIAAxkBAAI",
    "sticker": "CAACAgIAAxkBAAI",
    "audio": "CQACAgIAAxkBAAI",
    "animation": "CgACAgIAAxkBAAI",
    "video_note": "DQACAgIAAxkBAAI",
}
_DEFAULT_EXT = {
    "photo": ".jpg",
    "voice": ".oga",
    "video": ".mp4",
    "sticker": ".webp",
    "audio": ".mp3",
    "animation": ".mp4",
    "video_note": ".mp4",
}
# setWebhook's secret_token: sent back in a header with every post.
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_NOT_DEFAULT_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
_STATUS_TEXT = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class _QueuedUpdate:
    update: JSON
    forced: bool  # delivered even if the offset already passed it (redelivery)
    delivered: bool = False

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])


@dataclass
class _FailRule:
    remaining: int
    status: int
    description: str
    methods: frozenset[str] | None  # lower-case; None = every method except getUpdates


@dataclass
class _RateLimit:
    max_per_second: int
    retry_after: int | None
    methods: frozenset[str]
    accepted: deque[float]


class FakeBotAPI:
    """In-memory Bot API state machine. Create one per test (it binds to the running loop)."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "complaint_test_bot",
        bot_first_name: str = "Complaint Test Bot",
        first_update_id: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self._clock = clock
        self._next_update_id = first_update_id
        self._queue: list[_QueuedUpdate] = []
        self._changed = asyncio.Event()
        self._poll_generation = 0
        self._poll_arrivals: list[float] = []  # loop time each getUpdates arrived
        self._next_conflict_at = 0.0  # loop time from which a cut-off poll is answered at once
        self._allowed_updates: frozenset[str] | None = None  # None: Telegram's default set
        self._last_activity = 0.0  # loop time of the last enqueue, delivery or non-poll call

        self._users: dict[int, FakeUser] = {}
        self._next_user_id = 100_000_001
        self._chats: dict[int, JSON] = {}
        self._message_counters: dict[int, int] = {}
        self._messages: dict[tuple[int, int], JSON] = {}
        self._deleted: set[tuple[int, int]] = set()
        self._outbox: dict[int, list[SentMessage]] = {}
        self._sent_index: dict[tuple[int, int], SentMessage] = {}
        self._transcripts: dict[int, list[str]] = {}
        self._calls: list[ApiCall] = []

        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_counter = 0

        self._callback_queries: dict[str, JSON] = {}
        self._callback_answers: dict[str, CallbackAnswer] = {}
        self._next_callback_id = 4_000_000_000_000_000_001
        self._next_media_group = 13_000_000_000_000_001

        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._webhook: JSON = {}
        self.logged_out = False
        self.internal_errors: list[Exception] = []  # exceptions raised inside method handlers
        self.closed = False

        self._forbidden: dict[int, str] = {}
        self._fail_rules: list[_FailRule] = []
        self._rate_limit: _RateLimit | None = None

        handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "getFile": self._get_file,
            "sendChatAction": self._send_chat_action,
            "deleteMessage": self._delete_message,
            "close": self._close,
            "logOut": self._log_out,
        }
        self._handlers = {name.lower(): (name, handler) for name, handler in handlers.items()}

    # ================================================================================ identity

    @property
    def bot_user(self) -> JSON:
        """The bot as a ``User`` object (the ``from`` of every message it sends)."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def now(self) -> int:
        return int(self._clock())

    # ============================================================================== transports

    async def dispatch(
        self,
        http_method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        files: Mapping[str, UploadedFile] | None = None,
    ) -> HttpResponse:
        """Answer one HTTP request: ``/bot<token>/<method>`` or ``/file/bot<token>/<path>``."""
        route = split_path(path)
        if route is None:
            return error_response(404, "Not Found")
        kind, token, target = route
        if token != self.token:
            return error_response(401, "Unauthorized")
        if kind == "file":
            if http_method.upper() not in ("GET", "HEAD"):
                return error_response(404, "Not Found")
            stored = self._files_by_path.get(target)
            if stored is None or stored.file_size > MAX_DOWNLOAD_SIZE:
                return error_response(404, "Not Found")
            content_type = stored.mime_type or "application/octet-stream"
            return HttpResponse(200, stored.content, content_type)
        return await self.call(target, params, files)

    async def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        files: Mapping[str, UploadedFile] | None = None,
    ) -> HttpResponse:
        """Run one Bot API method (case-insensitive) with raw or typed parameters."""
        files = dict(files or {})
        entry = self._handlers.get(method.lower())
        canonical = entry[0] if entry else method
        decoded: JSON = {}
        try:
            if entry is None:
                raise ApiError(404, "Not Found: method not found")
            if self.logged_out and canonical != "logOut":
                raise ApiError(401, "Unauthorized")
            decoded = decode_params(params or {})
            self._apply_faults(canonical, decoded)
            result = await entry[1](decoded, files)
        except ApiError as exc:
            response = error_response(exc.status, exc.description, exc.parameters)
            self._record(canonical, decoded, files, response)
            chat_id = decoded.get("chat_id")
            if isinstance(chat_id, int) and chat_id in self._chats:
                self._log(chat_id, f"bot {canonical} -> {exc.status} {exc.description}")
            return response
        except Exception as exc:  # a bug in the fake: answer 500 and keep it for the test to see
            self.internal_errors.append(exc)
            response = error_response(500, f"Internal Server Error: fake_telegram bug: {exc!r}")
            self._record(canonical, decoded, files, response)
            return response
        response = json_response(200, {"ok": True, "result": result})
        self._record(canonical, decoded, files, response)
        return response

    def _record(
        self, method: str, params: JSON, files: dict[str, UploadedFile], response: HttpResponse
    ) -> None:
        try:
            payload: JSON | None = response.json()
        except ValueError:
            payload = None
        now = asyncio.get_running_loop().time()
        self._calls.append(
            ApiCall(
                method=method,
                params=params,
                files=files,
                status=response.status,
                response=payload,
                at=now,
            )
        )
        if method != "getUpdates":
            self._last_activity = now
        retry_after = (payload or {}).get("parameters", {}).get("retry_after")
        if isinstance(retry_after, int | float):
            # a well-behaved client (AIORateLimiter) comes back after retry_after: not idle yet
            self._last_activity = now + retry_after
        self._notify()

    def _touch(self) -> None:
        with contextlib.suppress(RuntimeError):  # enqueueing outside a running loop is fine
            self._last_activity = asyncio.get_running_loop().time()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def download(self, file_path: str) -> bytes:
        """Bytes served at ``<base_file_url><token>/<file_path>`` (KeyError if unknown)."""
        return self._files_by_path[file_path].content

    # ============================================================================ PTB wiring

    def make_request(
        self, *, latency: float = 0.0, read_timeout: float | None = 5.0
    ) -> InProcessRequest:
        """A fresh :class:`InProcessRequest` routed to this fake."""
        from ._request import InProcessRequest

        return InProcessRequest(self, latency=latency, read_timeout=read_timeout)

    def application_builder(
        self, *, latency: float = 0.0
    ) -> ApplicationBuilder[Any, Any, Any, Any, Any, Any]:
        """``ApplicationBuilder`` with this fake's token and in-process requests (no sockets)."""
        from telegram.ext import ApplicationBuilder

        return (
            ApplicationBuilder()
            .token(self.token)
            .request(self.make_request(latency=latency))
            .get_updates_request(self.make_request(latency=latency))
        )

    def make_bot(self) -> Bot:
        """A plain ``telegram.Bot`` on this fake (use as ``async with fake.make_bot() as bot``)."""
        from telegram import Bot

        return Bot(self.token, request=self.make_request(), get_updates_request=self.make_request())

    # ========================================================================= users & chats

    def add_user(
        self,
        first_name: str = "Alice",
        *,
        user_id: int | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
        is_premium: bool | None = None,
    ) -> FakeUser:
        """A human user with a private chat with the bot; use it to send updates."""
        from ._users import FakeUser

        if user_id is None:
            user_id = self._next_user_id
            self._next_user_id += 1
        user = FakeUser(
            self,
            user_id=user_id,
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            is_premium=is_premium,
        )
        self._users[user_id] = user
        chat: JSON = {"id": user_id, "type": "private", "first_name": first_name}
        if last_name:
            chat["last_name"] = last_name
        if username:
            chat["username"] = username
        self._chats[user_id] = chat
        return user

    def user(self, user_id: int) -> FakeUser:
        return self._users[user_id]

    def add_chat(
        self,
        chat_id: int,
        *,
        type: str = "supergroup",
        title: str | None = "Test group",
        username: str | None = None,
    ) -> JSON:
        """Register a group/supergroup/channel (or private) chat the bot may send to."""
        chat: JSON = {"id": chat_id, "type": type}
        if title and type != "private":
            chat["title"] = title
        if username:
            chat["username"] = username
        self._chats[chat_id] = chat
        return copy.deepcopy(chat)

    def chat(self, chat_id: int) -> JSON:
        return copy.deepcopy(self._chats[chat_id])

    def _resolve_chat(self, value: Any) -> JSON:
        if value is None or value == "":
            raise ApiError.bad_request("chat_id is empty")
        if isinstance(value, str):
            for chat in self._chats.values():
                if value.startswith("@") and chat.get("username") == value[1:]:
                    return chat
            raise ApiError.bad_request("chat not found")
        found = self._chats.get(value)
        if found is None:
            raise ApiError.bad_request("chat not found")
        return found

    def _next_message_id(self, chat_id: int) -> int:
        value = self._message_counters.get(chat_id, 0) + 1
        self._message_counters[chat_id] = value
        return value

    def _log(self, chat_id: int, line: str) -> None:
        self._transcripts.setdefault(chat_id, []).append(line)

    # =============================================================================== updates

    def next_update_id(self) -> int:
        value = self._next_update_id
        self._next_update_id += 1
        return value

    def enqueue(self, update: Mapping[str, Any]) -> JSON:
        """Queue an update as-is, even one already delivered (redelivery): the next getUpdates
        returns it whatever offset the bot sends. Builders queue their updates themselves."""
        return self._enqueue([dict(update)], forced=True)[0]

    def _enqueue(self, updates: list[JSON], *, forced: bool = False) -> list[JSON]:
        for update in updates:
            self._queue.append(_QueuedUpdate(copy.deepcopy(update), forced=forced))
        self._queue.sort(key=lambda queued: queued.update_id)
        self._touch()
        self._notify()
        return updates

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by the bot (a later getUpdates offset confirms them)."""
        return [copy.deepcopy(queued.update) for queued in self._queue]

    def _new_user_message(
        self, user: FakeUser, content: Mapping[str, Any], *, chat_id: int | None = None
    ) -> JSON:
        chat = self._chats[user.id if chat_id is None else chat_id]
        message: JSON = {
            "message_id": self._next_message_id(chat["id"]),
            "from": user.to_dict(),
            "chat": copy.deepcopy(chat),
            "date": self.now(),
        }
        message.update(copy.deepcopy(dict(content)))
        self._messages[(chat["id"], message["message_id"])] = message
        return message

    def _new_callback_query_id(self) -> str:
        value = self._next_callback_id
        self._next_callback_id += 1
        return str(value)

    def _register_callback_query(self, query: JSON) -> None:
        self._callback_queries[query["id"]] = query

    def _new_media_group_id(self) -> str:
        value = self._next_media_group
        self._next_media_group += 1
        return str(value)

    def _find_message(self, chat_id: int, message_id: int) -> JSON | None:
        if (chat_id, message_id) in self._deleted:
            return None
        return self._messages.get((chat_id, message_id))

    # ================================================================================= files

    def add_file(
        self,
        content: bytes,
        *,
        kind: str = "document",
        file_name: str | None = None,
        mime_type: str | None = None,
        file_size: int | None = None,
        file_unique_id: str | None = None,
    ) -> tuple[str, str]:
        """Register bytes the bot can fetch with getFile + download; returns (file_id, unique)."""
        stored = self._store_file(
            content,
            kind=kind,
            file_name=file_name,
            mime_type=mime_type,
            file_size=file_size,
            file_unique_id=file_unique_id,
        )
        return stored.file_id, stored.file_unique_id

    def file(self, file_id: str) -> StoredFile:
        """The stored file for ``file_id`` (KeyError if the fake never saw it)."""
        return self._files[file_id]

    def _store_file(
        self,
        content: bytes,
        *,
        kind: str,
        file_name: str | None = None,
        mime_type: str | None = None,
        file_size: int | None = None,
        file_unique_id: str | None = None,
        source_url: str | None = None,
    ) -> StoredFile:
        self._file_counter += 1
        number = self._file_counter
        ext = ""
        if file_name and "." in file_name:
            ext = "." + file_name.rsplit(".", 1)[1].lower()
        elif mime_type:
            ext = mimetypes.guess_extension(mime_type) or ""
        ext = ext or _DEFAULT_EXT.get(kind, "")
        directory = _FILE_DIRS.get(kind, "documents")
        prefix = _FILE_ID_PREFIX.get(kind, "BQACAgIAAxkBAAI")
        stored = StoredFile(
            file_id=f"{prefix}{number:06d}fake{self.bot_id % 10_000:04d}",
            file_unique_id=file_unique_id or f"AgAD{number:06d}",
            kind=kind,
            content=bytes(content),
            file_path=f"{directory}/file_{number}{ext}",
            file_size=len(content) if file_size is None else file_size,
            file_name=file_name,
            mime_type=mime_type,
            source_url=source_url,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _photo_sizes(
        self, content: bytes, sizes: Iterable[tuple[int, int]] | None = None
    ) -> tuple[list[JSON], StoredFile]:
        """PhotoSize list (small to large) for one photo; every size serves ``content``."""
        if sizes is None:
            width, height = image_size(content) or (1280, 960)
            scale_points = [90, 320, 800, 1280]
            longest = max(width, height)
            sizes = [
                (max(1, width * side // longest), max(1, height * side // longest))
                for side in scale_points
                if side < longest
            ] + [(width, height)]
            if len(sizes) == 1:  # Telegram always adds a smaller thumbnail
                sizes.insert(0, (max(1, width // 2), max(1, height // 2)))
        photo: list[JSON] = []
        stored: StoredFile | None = None
        for width, height in sizes:
            stored = self._store_file(content, kind="photo", mime_type="image/jpeg")
            photo.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": stored.file_size,
                    "width": width,
                    "height": height,
                }
            )
        assert stored is not None, "a photo needs at least one size"
        return photo, stored

    # ================================================================================= faults

    def block_bot(
        self,
        chat_id: int,
        *,
        description: str = "Forbidden: bot was blocked by the user",
        notify: bool = True,
    ) -> None:
        """Every call targeting ``chat_id`` answers 403 ``description`` from now on.

        With ``notify`` a ``my_chat_member`` update (member -> kicked) is queued, as Telegram does
        when a user blocks a bot (a bot polling with ``allowed_updates=["message", ...]`` without
        "my_chat_member" never receives it, also like Telegram).
        """
        self._forbidden[chat_id] = description
        if notify and chat_id in self._users:
            self._enqueue([self._my_chat_member_update(chat_id, "member", "kicked")])

    def unblock_bot(self, chat_id: int, *, notify: bool = True) -> None:
        self._forbidden.pop(chat_id, None)
        if notify and chat_id in self._users:
            self._enqueue([self._my_chat_member_update(chat_id, "kicked", "member")])

    def _my_chat_member_update(self, chat_id: int, old: str, new: str) -> JSON:
        def member(status: str) -> JSON:
            data: JSON = {"status": status, "user": self.bot_user}
            if status == "kicked":
                data["until_date"] = 0
            return data

        return {
            "update_id": self.next_update_id(),
            "my_chat_member": {
                "chat": copy.deepcopy(self._chats[chat_id]),
                "from": self._users[chat_id].to_dict(),
                "date": self.now(),
                "old_chat_member": member(old),
                "new_chat_member": member(new),
            },
        }

    def set_rate_limit(
        self,
        max_per_second: int | None,
        *,
        retry_after: int | None = None,
        methods: Iterable[str] = ("sendMessage",),
    ) -> None:
        """Answer 429 (``parameters.retry_after``) once more than ``max_per_second`` calls of
        ``methods`` (all chats together) arrive within one second. ``None`` turns it off.
        ``retry_after`` defaults to the seconds until the window frees up (at least 1)."""
        if max_per_second is None:
            self._rate_limit = None
            return
        self._rate_limit = _RateLimit(
            max_per_second=max_per_second,
            retry_after=retry_after,
            methods=frozenset(method.lower() for method in methods),
            accepted=deque(),
        )

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 500,
        methods: Iterable[str] | None = None,
        description: str | None = None,
    ) -> None:
        """The next ``count`` calls (of ``methods``; default: any method except getUpdates)
        fail with ``status``. 502/504 answer an nginx HTML page, like Telegram's front end."""
        self._fail_rules.append(
            _FailRule(
                remaining=count,
                status=status,
                description=description or _STATUS_TEXT.get(status, "Internal Server Error"),
                methods=None if methods is None else frozenset(m.lower() for m in methods),
            )
        )

    def _apply_faults(self, method: str, params: JSON) -> None:
        lowered = method.lower()
        for rule in self._fail_rules:
            if rule.remaining <= 0:
                continue
            if (rule.methods is None and lowered != "getupdates") or (
                rule.methods is not None and lowered in rule.methods
            ):
                rule.remaining -= 1
                raise ApiError(rule.status, rule.description)
        self._fail_rules = [rule for rule in self._fail_rules if rule.remaining > 0]

        chat_id = params.get("chat_id")
        if isinstance(chat_id, int) and chat_id in self._forbidden:
            raise ApiError(403, self._forbidden[chat_id])

        limit = self._rate_limit
        if limit is not None and lowered in limit.methods:
            now = asyncio.get_running_loop().time()
            while limit.accepted and now - limit.accepted[0] >= 1.0:
                limit.accepted.popleft()
            if len(limit.accepted) >= limit.max_per_second:
                retry_after = limit.retry_after or max(
                    1, math.ceil(1.0 - (now - limit.accepted[0]))
                )
                raise ApiError(
                    429,
                    f"Too Many Requests: retry after {retry_after}",
                    {"retry_after": retry_after},
                )
            limit.accepted.append(now)

    # ============================================================================ inspection

    def calls(self, method: str | None = None) -> list[ApiCall]:
        """Every call so far (optionally only ``method``, case-insensitive), oldest first."""
        if method is None:
            return list(self._calls)
        lowered = method.lower()
        return [call for call in self._calls if call.method.lower() == lowered]

    def polls_received(self, since: float = 0.0) -> int:
        """How many getUpdates requests arrived at or after loop time ``since``, counted on
        arrival (a long poll may wait its whole timeout before it is answered and recorded)."""
        return sum(1 for at in self._poll_arrivals if at >= since)

    def sent_to(self, chat_id: int, *, include_deleted: bool = True) -> list[SentMessage]:
        """Messages the bot sent to ``chat_id``, oldest first, each in its current (edited)
        state; ``.history`` holds earlier versions."""
        messages = self._outbox.get(chat_id, [])
        return [m for m in messages if include_deleted or not m.deleted]

    def texts(self, chat_id: int) -> list[str | None]:
        """Plain texts/captions the bot sent to ``chat_id`` (current versions)."""
        return [message.text for message in self.sent_to(chat_id)]

    def last_message(self, chat_id: int) -> SentMessage:
        messages = self.sent_to(chat_id)
        if not messages:
            raise AssertionError(f"the bot sent nothing to chat {chat_id}")
        return messages[-1]

    def sent_message(self, chat_id: int, message_id: int) -> SentMessage:
        return self._sent_index[(chat_id, message_id)]

    def message(self, chat_id: int, message_id: int) -> JSON:
        """Stored Message JSON (user's or bot's) by chat and id (KeyError if unknown)."""
        return copy.deepcopy(self._messages[(chat_id, message_id)])

    def transcript(self, chat_id: int) -> list[str]:
        """Human-readable log of everything that happened in ``chat_id``."""
        return list(self._transcripts.get(chat_id, []))

    def commands(
        self, *, scope: Mapping[str, Any] | None = None, language_code: str = ""
    ) -> list[JSON]:
        """Commands last set with setMyCommands for that scope/language, [] if none."""
        return copy.deepcopy(self._commands.get((self._scope_key(scope), language_code), []))

    @property
    def webhook(self) -> JSON:
        return copy.deepcopy(self._webhook)

    def callback_answer(self, query: Mapping[str, Any] | str) -> CallbackAnswer | None:
        """The bot's answer to a callback query (pass the update, the query or its id)."""
        if isinstance(query, str):
            query_id = query
        elif "callback_query" in query:
            query_id = query["callback_query"]["id"]
        else:
            query_id = query["id"]
        return self._callback_answers.get(query_id)

    # =============================================================================== waiting

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - the documented waiting API
        description: str | Callable[[], str] = "condition",
    ) -> None:
        """Wait until ``predicate()`` holds (re-checked after every change in the fake)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                text = description() if callable(description) else description
                raise AssertionError(f"timed out after {timeout}s waiting for {text}")
            event = self._changed
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that comes
            # as the event is set, and the cancelled test would then wait on.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await event.wait()

    async def wait_for_sent(
        self,
        chat_id: int,
        count: int = 1,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - the documented waiting API
    ) -> list[SentMessage]:
        """Wait until the bot has sent at least ``count`` messages to ``chat_id``."""

        def describe() -> str:
            sent = self.sent_to(chat_id)
            lines = "\n".join(f"  {line}" for line in self.transcript(chat_id)) or "  (nothing)"
            return (
                f"{count} message(s) to chat {chat_id}; the bot sent {len(sent)}. "
                f"Transcript:\n{lines}"
            )

        await self.wait_until(
            lambda: len(self.sent_to(chat_id)) >= count, timeout=timeout, description=describe
        )
        return self.sent_to(chat_id)

    async def wait_for_calls(
        self,
        method: str,
        count: int = 1,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - the documented waiting API
    ) -> list[ApiCall]:
        """Wait until ``method`` has been called at least ``count`` times."""
        await self.wait_until(
            lambda: len(self.calls(method)) >= count,
            timeout=timeout,
            description=lambda: (
                f"{count} {method} call(s); got {len(self.calls(method))}; all calls: "
                f"{[call.method for call in self._calls if call.method != 'getUpdates']}"
            ),
        )
        return self.calls(method)

    async def wait_for_delivery(self, *, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - the documented waiting API
        """Wait until the bot fetched and confirmed every queued update."""
        await self.wait_until(
            lambda: not self._queue,
            timeout=timeout,
            description=lambda: f"the bot to fetch updates {[q.update_id for q in self._queue]}",
        )

    async def settle(self, *, quiet: float = 0.1, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - the documented waiting API
        """Best effort "the bot is done": every update delivered, then ``quiet`` seconds with
        no update queued or delivered and no call other than getUpdates. Use it before asserting
        that nothing (more) was sent; make ``quiet`` longer than any deliberate delay in the bot
        (album collection windows, debounce timers)."""
        await self.wait_for_delivery(timeout=timeout)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            idle_for = loop.time() - self._last_activity
            if idle_for >= quiet:
                return
            if loop.time() >= deadline:
                raise AssertionError(f"the bot did not go quiet within {timeout}s")
            await asyncio.sleep(quiet - idle_for)

    # ======================================================================= method: updates

    async def _get_me(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _confirm(self, offset: int | None) -> None:
        if offset is None:
            return
        if offset < 0:
            self._queue = self._queue[offset:]
            return
        self._queue = [
            queued
            for queued in self._queue
            if queued.update_id >= offset or (queued.forced and not queued.delivered)
        ]

    async def _get_updates(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        if self._webhook.get("url"):
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        limit = min(max(int(params.get("limit", 100)), 1), 100)
        timeout = max(float(params.get("timeout", 0)), 0.0)
        if "allowed_updates" in params:  # omitted: the previous setting stays, like Telegram
            allowed = params["allowed_updates"]
            self._allowed_updates = frozenset(allowed) if allowed else None
        self._confirm(params.get("offset"))
        loop = asyncio.get_running_loop()
        self._poll_arrivals.append(loop.time())
        batch = self._batch(limit)
        if batch or timeout <= 0:
            return self._hand_over(batch)
        # As Telegram's Bot API server does (tdlib/telegram-bot-api, Client::do_get_updates):
        # only a request that has to wait takes the one long-poll slot, and the request that
        # held it is cut off with 409. One answered at once leaves an older long poll waiting.
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # lets the older long poll notice it has been cut off
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                await self._conflict_delay(loop)
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
            batch = self._batch(limit)
            remaining = deadline - loop.time()
            if batch or remaining <= 0:
                return self._hand_over(batch)
            event = self._changed
            # Not wait_for: on 3.11 it swallows a cancel that comes as the event is set (a
            # server stopping while a reply wakes the poll), and the poll waits on.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await event.wait()

    def _batch(self, limit: int) -> list[_QueuedUpdate]:
        # updates of types the bot did not ask for are never delivered
        self._queue = [queued for queued in self._queue if self._is_allowed(queued.update)]
        return self._queue[:limit]

    def _hand_over(self, batch: list[_QueuedUpdate]) -> list[JSON]:
        for queued in batch:
            queued.delivered = True
        if batch:
            self._touch()
        return [copy.deepcopy(queued.update) for queued in batch]

    async def _conflict_delay(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        if now < self._next_conflict_at:
            await asyncio.sleep(CONFLICT_DELAY)
        else:
            self._next_conflict_at = now + CONFLICT_DELAY

    def _is_allowed(self, update: JSON) -> bool:
        kinds = [key for key in update if key != "update_id"]
        kind = kinds[0] if kinds else ""
        if self._allowed_updates is None:
            return kind not in _NOT_DEFAULT_UPDATES
        return kind in self._allowed_updates

    async def _delete_webhook(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self._webhook = {}
        if params.get("drop_pending_updates"):
            self._queue = []
        return True

    async def _set_webhook(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        url = params.get("url", "")
        if url and not str(url).startswith("https://"):
            raise ApiError.bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not _WEBHOOK_SECRET.fullmatch(str(secret)):
            raise ApiError.bad_request("secret token contains unallowed characters")
        connections = params.get("max_connections", 40)
        if not isinstance(connections, int) or not 1 <= connections <= 100:
            raise ApiError.bad_request("bad webhook: max_connections must be 1-100")
        self._webhook = {key: value for key, value in params.items() if key != "certificate"}
        if "allowed_updates" in params:  # one setting shared with getUpdates, like Telegram
            allowed = params["allowed_updates"]
            self._allowed_updates = frozenset(allowed) if allowed else None
        if params.get("drop_pending_updates"):
            self._queue = []
        self._notify()  # a WebhookPusher starts posting
        return True

    async def _get_webhook_info(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        info: JSON = {
            "url": self._webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }
        for key in (
            "max_connections",
            "allowed_updates",
            "ip_address",
            "last_error_date",
            "last_error_message",
        ):
            if key in self._webhook:
                info[key] = self._webhook[key]
        return info

    # The side of a WebhookPusher (fake_telegram._webhook): what to post, and its outcome.

    @property
    def changed(self) -> asyncio.Event:
        """An event set at the next change in the fake (an update queued, a call, a webhook)."""
        return self._changed

    def webhook_next(self) -> _QueuedUpdate | None:
        """Return the first update to post to the webhook (None: no webhook, or nothing queued)."""
        if not self._webhook.get("url"):
            return None
        self._queue = [queued for queued in self._queue if self._is_allowed(queued.update)]
        return self._queue[0] if self._queue else None

    def webhook_confirm(self, queued: _QueuedUpdate) -> None:
        """Drop an update the webhook answered with 2xx: Telegram never posts it again."""
        self._queue = [q for q in self._queue if q is not queued]
        self._touch()
        self._notify()

    def webhook_failed(self, message: str) -> None:
        """Note a refused or failed post, as getWebhookInfo reports it; it will be retried."""
        if self._webhook.get("url"):
            self._webhook["last_error_date"] = self.now()
            self._webhook["last_error_message"] = message
        self._touch()
        self._notify()

    async def _close(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self.closed = True
        return True

    async def _log_out(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self.logged_out = True
        return True

    # ====================================================================== method: commands

    @staticmethod
    def _scope_key(scope: Mapping[str, Any] | None) -> str:
        if not scope or scope.get("type") == "default":
            return "default"
        return json.dumps(dict(scope), sort_keys=True)

    async def _set_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError.bad_request("commands must be a list of at most 100 BotCommand")
        for command in commands:
            name = command.get("command", "") if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise ApiError.bad_request("BOT_COMMAND_INVALID")
            description = command.get("description", "")
            if not 1 <= len(description) <= 256:
                raise ApiError.bad_request("command description is empty or too long")
        key = (self._scope_key(params.get("scope")), params.get("language_code", ""))
        self._commands[key] = copy.deepcopy(commands)
        return True

    async def _get_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        key = (self._scope_key(params.get("scope")), params.get("language_code", ""))
        return copy.deepcopy(self._commands.get(key, []))

    async def _delete_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        key = (self._scope_key(params.get("scope")), params.get("language_code", ""))
        self._commands.pop(key, None)
        return True

    # ====================================================================== method: messages

    @staticmethod
    def _formatted(
        params: JSON, text_key: str, entities_key: str, max_length: int, *, required: bool
    ) -> tuple[str | None, list[JSON]]:
        raw = params.get(text_key)
        if raw is None:
            if required:
                raise ApiError.bad_request("message text is empty")
            return None, []
        entities = params.get(entities_key)
        try:
            plain, parsed = parse_formatted(str(raw), params.get("parse_mode"), entities)
        except EntityParseError as exc:
            raise ApiError.bad_request(f"can't parse entities: {exc}") from exc
        except ValueError as exc:
            raise ApiError.bad_request(
                f"unsupported parse_mode {params.get('parse_mode')}"
            ) from exc
        plain, parsed = strip_and_shift(plain, parsed)
        if not plain:
            if required:
                raise ApiError.bad_request("message text is empty")
            return None, []
        if utf16_len(plain) > max_length:
            if text_key == "caption":
                raise ApiError.bad_request("message caption is too long")
            raise ApiError.bad_request("message is too long")
        return plain, parsed

    @staticmethod
    def _inline_markup(markup: Any) -> JSON | None:
        """Validated inline keyboard, or None for reply keyboards / no markup."""
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError.bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            if not any(k in markup for k in ("keyboard", "remove_keyboard", "force_reply")):
                raise ApiError.bad_request("can't parse reply keyboard markup JSON object")
            return None
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise ApiError.bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
            )
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise ApiError.bad_request("text buttons are unallowed in the inline keyboard")
                actions = [key for key in _INLINE_BUTTON_ACTIONS if key in button]
                if len(actions) != 1:
                    raise ApiError.bad_request("text buttons are unallowed in the inline keyboard")
                data = button.get("callback_data")
                if data is not None and (
                    not data or len(str(data).encode("utf-8")) > MAX_CALLBACK_DATA_BYTES
                ):
                    raise ApiError.bad_request("BUTTON_DATA_INVALID")
        return copy.deepcopy(markup)

    def _reply_to(self, chat: JSON, params: JSON) -> JSON | None:
        reply = params.get("reply_parameters")
        if reply is None and "reply_to_message_id" in params:
            reply = {
                "message_id": params["reply_to_message_id"],
                "allow_sending_without_reply": params.get("allow_sending_without_reply", False),
            }
        if not isinstance(reply, dict) or "message_id" not in reply:
            return None
        chat_id = reply.get("chat_id", chat["id"])
        target = self._find_message(
            chat_id if isinstance(chat_id, int) else chat["id"], int(reply["message_id"])
        )
        if target is None:
            if reply.get("allow_sending_without_reply"):
                return None
            raise ApiError.bad_request("message to be replied not found")
        replied = copy.deepcopy(target)
        replied.pop("reply_to_message", None)
        return replied

    def _deliver(
        self,
        method: str,
        params: JSON,
        content: JSON,
        *,
        source_text: str | None,
        files: dict[str, StoredFile] | None = None,
    ) -> JSON:
        """Common tail of every send*: reply, markup, ids, storage, logs."""
        chat = self._resolve_chat(params.get("chat_id"))
        markup = self._inline_markup(params.get("reply_markup"))
        replied = self._reply_to(chat, params)
        message: JSON = {
            "message_id": self._next_message_id(chat["id"]),
            "from": self.bot_user,
            "chat": copy.deepcopy(chat),
            "date": self.now(),
        }
        if replied is not None:
            message["reply_to_message"] = replied
        message.update(content)
        if markup is not None:
            message["reply_markup"] = markup
        key = (chat["id"], message["message_id"])
        self._messages[key] = message
        sent = SentMessage(
            chat_id=chat["id"],
            message_id=message["message_id"],
            method=method,
            raw=copy.deepcopy(message),
            params=copy.deepcopy(params),
            source_text=source_text,
            parse_mode=params.get("parse_mode"),
            files=dict(files or {}),
        )
        self._outbox.setdefault(chat["id"], []).append(sent)
        self._sent_index[key] = sent
        self._log(chat["id"], f"bot: {sent.describe()}")
        return copy.deepcopy(message)

    async def _send_message(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        self._resolve_chat(params.get("chat_id"))
        plain, entities = self._formatted(
            params, "text", "entities", MAX_MESSAGE_LENGTH, required=True
        )
        content: JSON = {"text": plain}
        if entities:
            content["entities"] = entities
        return self._deliver("sendMessage", params, content, source_text=params.get("text"))

    def _caption_content(self, params: JSON) -> JSON:
        plain, entities = self._formatted(
            params, "caption", "caption_entities", MAX_CAPTION_LENGTH, required=False
        )
        content: JSON = {}
        if plain is not None:
            content["caption"] = plain
            if entities:
                content["caption_entities"] = entities
        return content

    def _input_file(
        self, name: str, kind: str, params: JSON, files: dict[str, UploadedFile]
    ) -> StoredFile:
        """Resolve a file parameter: multipart upload, attach://, file_id or HTTP URL."""
        value = params.get(name)
        upload: UploadedFile | None = None
        if value is None:
            upload = files.get(name)
            if upload is None:
                raise ApiError.bad_request(f"there is no {name} in the request")
        elif isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value.removeprefix("attach://"))
            if upload is None:
                raise ApiError.bad_request("wrong file identifier/HTTP URL specified")
        if upload is not None:
            if not upload.content:
                raise ApiError.bad_request("file must be non-empty")
            limit = MAX_PHOTO_UPLOAD_SIZE if kind == "photo" else MAX_UPLOAD_SIZE
            if len(upload.content) > limit:
                raise ApiError(413, "Request Entity Too Large")
            mime = upload.content_type
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(upload.filename)[0] or "application/octet-stream"
            return self._store_file(
                upload.content, kind=kind, file_name=upload.filename, mime_type=mime
            )
        text = str(value)
        if text.startswith(("http://", "https://")):
            file_name = text.rsplit("/", 1)[-1] or None
            return self._store_file(b"", kind=kind, file_name=file_name, source_url=text)
        stored = self._files.get(text)
        if stored is None:
            raise ApiError.bad_request("wrong file identifier/HTTP URL specified")
        if {stored.kind, kind} == {"photo", "document"}:
            raise ApiError.bad_request("type of file mismatch")
        return stored

    async def _send_document(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        self._resolve_chat(params.get("chat_id"))
        stored = self._input_file("document", "document", params, files)
        document: JSON = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        if stored.file_name:
            document["file_name"] = stored.file_name
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        document["file_size"] = stored.file_size
        content: JSON = {"document": document, **self._caption_content(params)}
        return self._deliver(
            "sendDocument",
            params,
            content,
            source_text=params.get("caption"),
            files={"document": stored},
        )

    async def _send_photo(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        self._resolve_chat(params.get("chat_id"))
        stored = self._input_file("photo", "photo", params, files)
        if stored.source_url is None and stored.content and image_size(stored.content) is None:
            raise ApiError.bad_request("IMAGE_PROCESS_FAILED")
        sizes, largest = self._photo_sizes(stored.content)
        if stored.source_url is not None:
            largest.source_url = stored.source_url
        content: JSON = {"photo": sizes, **self._caption_content(params)}
        return self._deliver(
            "sendPhoto",
            params,
            content,
            source_text=params.get("caption"),
            files={"photo": largest},
        )

    async def _send_chat_action(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self._resolve_chat(params.get("chat_id"))
        if params.get("action") not in _CHAT_ACTIONS:
            raise ApiError.bad_request("wrong parameter action in request")
        return True

    # ========================================================================= method: edits

    def _editable(self, params: JSON) -> SentMessage | None:
        if params.get("inline_message_id"):
            return None
        chat = self._resolve_chat(params.get("chat_id"))
        if "message_id" not in params:
            raise ApiError.bad_request("message identifier is not specified")
        key = (chat["id"], int(params["message_id"]))
        if self._find_message(*key) is None:
            raise ApiError.bad_request("message to edit not found")
        sent = self._sent_index.get(key)
        if sent is None:
            raise ApiError.bad_request("message can't be edited")
        return sent

    def _apply_edit(self, sent: SentMessage, changes: JSON, markup: JSON | None, what: str) -> JSON:
        current = sent.raw
        # a change to None means "field absent", which is what .get() reports for absent fields
        unchanged = all(current.get(key) == value for key, value in changes.items())
        if unchanged and current.get("reply_markup") == markup:
            raise ApiError.bad_request(_NOT_MODIFIED)
        sent.history.append(copy.deepcopy(current))
        updated = copy.deepcopy(current)
        for key, value in changes.items():
            if value is None:
                updated.pop(key, None)
            else:
                updated[key] = value
        if markup is None:
            updated.pop("reply_markup", None)
        else:
            updated["reply_markup"] = markup
        updated["edit_date"] = self.now()
        sent.raw = updated
        self._messages[(sent.chat_id, sent.message_id)] = copy.deepcopy(updated)
        self._log(sent.chat_id, f"bot edited {what}: {sent.describe()}")
        return copy.deepcopy(updated)

    async def _edit_message_text(self, params: JSON, files: dict[str, UploadedFile]) -> Any:
        sent = self._editable(params)
        plain, entities = self._formatted(
            params, "text", "entities", MAX_MESSAGE_LENGTH, required=True
        )
        markup = self._inline_markup(params.get("reply_markup"))
        if sent is None:
            return True
        if "text" not in sent.raw:
            raise ApiError.bad_request("there is no text in the message to edit")
        result = self._apply_edit(
            sent, {"text": plain, "entities": entities or None}, markup, "text"
        )
        sent.source_text = params.get("text")
        sent.parse_mode = params.get("parse_mode")
        return result

    async def _edit_message_caption(self, params: JSON, files: dict[str, UploadedFile]) -> Any:
        sent = self._editable(params)
        plain, entities = self._formatted(
            params, "caption", "caption_entities", MAX_CAPTION_LENGTH, required=False
        )
        markup = self._inline_markup(params.get("reply_markup"))
        if sent is None:
            return True
        if "text" in sent.raw:
            raise ApiError.bad_request("there is no caption in the message to edit")
        result = self._apply_edit(
            sent,
            {"caption": plain, "caption_entities": entities or None},
            markup,
            "caption",
        )
        sent.source_text = params.get("caption")
        sent.parse_mode = params.get("parse_mode")
        return result

    async def _edit_message_reply_markup(self, params: JSON, files: dict[str, UploadedFile]) -> Any:
        sent = self._editable(params)
        markup = self._inline_markup(params.get("reply_markup"))
        if sent is None:
            return True
        return self._apply_edit(sent, {}, markup, "markup")

    async def _delete_message(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        chat = self._resolve_chat(params.get("chat_id"))
        if "message_id" not in params:
            raise ApiError.bad_request("message identifier is not specified")
        key = (chat["id"], int(params["message_id"]))
        if self._find_message(*key) is None:
            raise ApiError.bad_request("message to delete not found")
        self._deleted.add(key)
        sent = self._sent_index.get(key)
        if sent is not None:
            sent.deleted = True
        self._log(chat["id"], f"bot deleted #{key[1]}")
        return True

    # ===================================================================== method: callbacks

    async def _answer_callback_query(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        query = self._callback_queries.get(query_id)
        if query is None or query_id in self._callback_answers:
            raise ApiError.bad_request(_QUERY_INVALID)
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise ApiError.bad_request("MESSAGE_TOO_LONG")
        answer = CallbackAnswer(
            text=text,
            show_alert=bool(params.get("show_alert", False)),
            url=params.get("url"),
            cache_time=params.get("cache_time"),
        )
        self._callback_answers[query_id] = answer
        chat_id = query["from"]["id"]
        shown = f"{'alert' if answer.show_alert else 'toast'} {text!r}" if text else "(silent)"
        self._log(chat_id, f"bot answered callback {query.get('data')!r}: {shown}")
        return True

    # ========================================================================= method: files

    async def _get_file(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        file_id = str(params.get("file_id", ""))
        stored = self._files.get(file_id)
        if stored is None:
            raise ApiError.bad_request("invalid file_id")
        if stored.file_size > MAX_DOWNLOAD_SIZE:
            raise ApiError.bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
            "file_path": stored.file_path,
        }
