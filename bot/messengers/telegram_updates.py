"""Telegram updates into one `Incoming`: texts, commands, buttons, files, albums and forwards."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any

from telegram import (
    Message,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
    Update,
)

from flows.model import Attachment, ConversationKey, Forward, Incoming

MESSENGER = "telegram"
_UNSUPPORTED = (
    "voice",
    "video",
    "video_note",
    "audio",
    "sticker",
    "animation",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
    "game",
)


async def _download(bot: Any, file_id: str) -> bytes:
    file = await bot.get_file(file_id)
    return bytes(await file.download_as_bytearray())


def _forward(message: Message) -> Forward | None:
    origin = message.forward_origin
    if origin is None:
        return None
    date: datetime | None = origin.date
    if isinstance(origin, MessageOriginUser):
        user = origin.sender_user
        return Forward("user", user.full_name, str(user.id), date)
    if isinstance(origin, MessageOriginHiddenUser):
        return Forward("hidden_user", origin.sender_user_name, None, date)
    if isinstance(origin, MessageOriginChat):
        chat = origin.sender_chat
        return Forward("chat", chat.title or chat.username, str(chat.id), date)
    if isinstance(origin, MessageOriginChannel):
        channel = origin.chat
        return Forward("channel", channel.title or channel.username, str(channel.id), date)
    return Forward("unknown", None, None, date)


def _attachments(message: Message, bot: Any) -> list[Attachment]:
    found = []
    group = message.media_group_id
    if message.photo:
        photo = message.photo[-1]  # the largest size
        found.append(
            Attachment(
                kind="photo",
                mime_type="image/jpeg",
                size=photo.file_size,
                file_id=photo.file_id,
                file_unique_id=photo.file_unique_id,
                group_id=group,
                fetch=partial(_download, bot, photo.file_id),
            )
        )
    if message.document:
        doc = message.document
        found.append(
            Attachment(
                kind="document",
                file_name=doc.file_name,
                mime_type=doc.mime_type,
                size=doc.file_size,
                file_id=doc.file_id,
                file_unique_id=doc.file_unique_id,
                group_id=group,
                fetch=partial(_download, bot, doc.file_id),
            )
        )
    return found


def to_incoming(updates: list[Update], bot: Any) -> Incoming | None:
    """Translate one update (or the updates of one album) into the engine's Incoming."""
    first = updates[0]
    user, chat = first.effective_user, first.effective_chat
    if user is None or chat is None:
        return None
    key = ConversationKey(MESSENGER, str(user.id))
    common: dict[str, Any] = {
        "chat_id": str(chat.id),
        "language_hint": user.language_code,
        "display_name": user.full_name,
        "deliveries": _deliveries(updates, bot),
    }
    if first.callback_query is not None:
        return Incoming(key, button=first.callback_query.data or "", **common)
    message = first.message
    if message is None:
        return None
    attachments = [a for u in updates if u.message for a in _attachments(u.message, bot)]
    unsupported = next((kind for kind in _UNSUPPORTED if getattr(message, kind, None)), None)
    if message.document and message.animation:  # a GIF arrives as both; it is not evidence
        attachments, unsupported = [], "animation"
    text = next((u.message.text or u.message.caption for u in updates if u.message), None)
    return Incoming(
        key,
        text=text,
        attachments=tuple(attachments),
        forward=_forward(message),
        unsupported=None if attachments or text else unsupported or "unknown",
        **common,
    )


def _deliveries(updates: list[Update], bot: Any) -> tuple[str, ...]:
    """Return the ids that recognise these updates if Telegram sends them again."""
    # update_id counts per bot, so the bot's id makes it unique in a database shared by bots.
    return tuple(f"{bot.id}:{update.update_id}" for update in updates)


def burst(updates: list[Update], bot: Any) -> Incoming | None:
    """Translate a burst of forwarded messages: the first, with the others as its batch."""
    parts = [incoming for u in updates if (incoming := to_incoming([u], bot)) is not None]
    if not parts:
        return None
    return replace(parts[0], batch=tuple(parts[1:]), deliveries=_deliveries(updates, bot))
