"""Translate kf/sync_msg messages into the engine's Incoming.

Text (with a menu click's `menu_id` as a button press), images and files (downloaded with
their size capped), forwarded chat records (a burst for the message check), enter_session
(a first greeting); voice, video and the rest get the same "not supported" answer as on
Telegram. Messages not written by the customer (origin != 3) are no input.
"""

from __future__ import annotations

import json
import logging
import mimetypes
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from bot.messengers.wecom.api import Media, MediaTooLarge, WecomError
from flows.model import Attachment, ConversationKey, Forward, Incoming

log = logging.getLogger(__name__)

MESSENGER = "wecom"
CUSTOMER = 3  # origin: 3 the customer, 4 a system message, 5 a human agent
_UNSUPPORTED = {
    "voice": "voice",
    "video": "video",
    "location": "location",
    "link": "link",
    "business_card": "contact",
    "miniprogram": "miniprogram",
    "channels_shop_product": "product",
    "channels_shop_order": "order",
    "channels": "video",
}

Download = Callable[[str, int], Awaitable[Media]]


@dataclass(frozen=True, slots=True)
class Item:
    """One message pulled from an account, as the inbox keeps it until it is handled."""

    msgid: str
    open_kfid: str
    external_userid: str
    body: dict[str, Any]

    @classmethod
    def of(cls, message: dict[str, Any]) -> Item | None:
        """Return the inbox item of a pulled message; None without an id or a person."""
        event = message.get("event") if message.get("msgtype") == "event" else None
        source = event if isinstance(event, dict) else message
        person = str(source.get("external_userid") or "")
        msgid = str(message.get("msgid") or "")
        if not person or not msgid:
            return None
        return cls(msgid, str(source.get("open_kfid") or ""), person, message)

    @property
    def key(self) -> ConversationKey:
        return ConversationKey(MESSENGER, self.external_userid)

    @property
    def chat_id(self) -> str:
        return f"{self.open_kfid}|{self.external_userid}"


def split_chat_id(chat_id: str) -> tuple[str, str]:
    """Return (open_kfid, external_userid) of a chat id made by Item.chat_id."""
    open_kfid, _, person = chat_id.partition("|")
    return open_kfid, person


def delivery_id(corp_id: str, msgid: str) -> str:
    """Return the delivery id of a message: the same however often it is pulled."""
    return f"{corp_id}:{msgid}"


async def to_incoming(
    item: Item, corp_id: str, download: Download, max_bytes: int
) -> Incoming | None:
    """Return what the person did, or None for messages that are no input (events, agents)."""
    body = item.body
    kind = str(body.get("msgtype") or "")
    base = Incoming(item.key, item.chat_id, deliveries=(delivery_id(corp_id, item.msgid),))
    if kind == "event":
        event = body.get("event") or {}
        if event.get("event_type") == "enter_session":
            log.info("a person opened the chat (scene %r)", event.get("scene_param"))
            return replace(base, text="/start")
        return None
    if body.get("origin", CUSTOMER) != CUSTOMER:
        return None
    if kind == "text":
        text = body.get("text") or {}
        if text.get("menu_id"):
            return replace(base, button=str(text["menu_id"]))
        return replace(base, text=str(text.get("content") or ""))
    if kind == "image":
        media_id = str((body.get("image") or {}).get("media_id") or "")
        return replace(base, attachments=(await _photo(media_id, download, max_bytes),))
    if kind == "file":
        media_id = str((body.get("file") or {}).get("media_id") or "")
        return replace(base, attachments=(await _file(media_id, download, max_bytes),))
    if kind == "merged_msg":
        return _chat_records(base, body.get("merged_msg") or {})
    return replace(base, unsupported=_UNSUPPORTED.get(kind, kind or "unknown"))


async def _photo(media_id: str, download: Download, max_bytes: int) -> Attachment:
    """Download an image now, like a file: one too big or expired is told so, not failed on."""
    got = await _file(media_id, download, max_bytes)
    # WeChat gives an image no name; the engine names it by its content once it is kept.
    return replace(
        got, kind="photo", file_name=None, mime_type="image/jpeg", file_unique_id=media_id[-8:]
    )


async def _file(media_id: str, download: Download, max_bytes: int) -> Attachment:
    """Download a file now: WeCom gives its name and type only with its bytes."""
    try:
        media = await download(media_id, max_bytes)
    except MediaTooLarge:
        return Attachment(kind="document", size=max_bytes + 1, file_unique_id=media_id)
    except WecomError as exc:
        # Expired (past 3 days) or gone: told as a file that could not be read.
        log.warning("could not download a file: %s", exc)
        return Attachment(kind="document", file_name="file", file_unique_id=media_id)
    mime = media.mime_type
    if media.file_name and (mime is None or mime == "application/octet-stream"):
        mime = mimetypes.guess_type(media.file_name)[0] or mime
    content = media.content

    async def fetch() -> bytes:
        return content

    return Attachment(
        kind="document",
        file_name=media.file_name,
        mime_type=mime,
        size=len(content),
        file_unique_id=media_id,
        fetch=fetch,
    )


def _chat_records(base: Incoming, merged: dict[str, Any]) -> Incoming | None:
    """Forwarded chat records: the first as a forward, the others as its burst."""
    parts: list[Incoming] = []
    for entry in merged.get("item") or []:
        try:
            content = json.loads(entry.get("msg_content") or "{}")
        except (TypeError, ValueError):
            content = {}
        text = (content.get("text") or {}).get("content") if isinstance(content, dict) else None
        when = entry.get("send_time")
        forward = Forward(
            origin="user",
            sender=entry.get("sender_name") or None,
            date=datetime.fromtimestamp(int(when), UTC) if when else None,
        )
        if text:
            parts.append(replace(base, text=str(text), forward=forward, deliveries=()))
    if not parts:
        return replace(base, unsupported="chat_records")
    return replace(parts[0], batch=tuple(parts[1:]), deliveries=base.deliveries)
