"""Update builders: a ``FakeUser`` sends realistic updates to the bot through a FakeBotAPI.

Every builder creates the Message JSON the way Telegram would (per-chat message ids, ``from``,
``chat``, ``date``, entities in UTF-16 units, PhotoSize lists, ``forward_origin`` ...), stores
it so the bot can reply to it, queues the Update and returns the Update JSON.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._formatting import utf16_len
from ._media import TINY_PNG
from ._records import SentMessage

if TYPE_CHECKING:
    from ._api import FakeBotAPI

JSON = dict[str, Any]

__all__ = [
    "FakeUser",
    "detect_entities",
    "origin_channel",
    "origin_chat",
    "origin_hidden_user",
    "origin_user",
]

_COMMAND_RE = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
_URL_RE = re.compile(r"\bhttps?://[^\s<>\"']+")
_EMAIL_RE = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")


def detect_entities(text: str) -> list[JSON]:
    """The entities Telegram's clients/server attach to a user's plain text: bot commands,
    URLs and e-mail addresses (offsets/lengths in UTF-16 code units)."""
    found: list[tuple[int, int, str]] = []
    for kind, pattern in (("bot_command", _COMMAND_RE), ("url", _URL_RE), ("email", _EMAIL_RE)):
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < other_end and other_start < end for other_start, other_end, _ in found):
                continue
            found.append((start, end, kind))
    found.sort()
    return [
        {"type": kind, "offset": utf16_len(text[:start]), "length": utf16_len(text[start:end])}
        for start, end, kind in found
    ]


# ------------------------------------------------------------------------------ forward origins


def _origin_date(date: int | None) -> int:
    import time

    return int(time.time()) - 3600 if date is None else date


def origin_user(user: FakeUser | Mapping[str, Any], *, date: int | None = None) -> JSON:
    """``MessageOriginUser``: forwarded from a user who allows linking to their account."""
    sender = user.to_dict() if isinstance(user, FakeUser) else dict(user)
    return {"type": "user", "date": _origin_date(date), "sender_user": sender}


def origin_hidden_user(sender_user_name: str, *, date: int | None = None) -> JSON:
    """``MessageOriginHiddenUser``: forwarded from a user who hides their account."""
    return {"type": "hidden_user", "date": _origin_date(date), "sender_user_name": sender_user_name}


def origin_chat(
    chat_id: int,
    title: str,
    *,
    type: str = "supergroup",
    username: str | None = None,
    author_signature: str | None = None,
    date: int | None = None,
) -> JSON:
    """``MessageOriginChat``: a message sent on behalf of a group (anonymous admin)."""
    chat: JSON = {"id": chat_id, "type": type, "title": title}
    if username:
        chat["username"] = username
    origin: JSON = {"type": "chat", "date": _origin_date(date), "sender_chat": chat}
    if author_signature:
        origin["author_signature"] = author_signature
    return origin


def origin_channel(
    chat_id: int,
    title: str,
    message_id: int,
    *,
    username: str | None = None,
    author_signature: str | None = None,
    date: int | None = None,
) -> JSON:
    """``MessageOriginChannel``: a channel post."""
    chat: JSON = {"id": chat_id, "type": "channel", "title": title}
    if username:
        chat["username"] = username
    origin: JSON = {
        "type": "channel",
        "date": _origin_date(date),
        "chat": chat,
        "message_id": message_id,
    }
    if author_signature:
        origin["author_signature"] = author_signature
    return origin


# ----------------------------------------------------------------------------------- the user


class FakeUser:
    """A human in a private chat with the bot. Every ``send_*``/``press``/``forward`` call
    queues one update (``send_album`` several) and returns the Update JSON."""

    def __init__(
        self,
        api: FakeBotAPI,
        *,
        user_id: int,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        is_premium: bool | None = None,
    ) -> None:
        self.api = api
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.is_premium = is_premium
        self._consumed = 0

    def __repr__(self) -> str:
        return f"FakeUser(id={self.id}, first_name={self.first_name!r})"

    @property
    def chat_id(self) -> int:
        """The private chat with the bot has the user's id."""
        return self.id

    def to_dict(self) -> JSON:
        """The ``User`` object Telegram puts in ``from``."""
        user: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        if self.is_premium:
            user["is_premium"] = True
        return user

    # ------------------------------------------------------------------------------ plumbing

    def _message_update(self, content: Mapping[str, Any], *, log: str) -> JSON:
        message = self.api._new_user_message(self, content)
        update = {"update_id": self.api.next_update_id(), "message": message}
        self.api._log(self.id, f"user {self.first_name}: {log}")
        return self.api._enqueue([update])[0]

    def _reply(self, reply_to: SentMessage | int | None) -> JSON:
        if reply_to is None:
            return {}
        message_id = reply_to.message_id if isinstance(reply_to, SentMessage) else reply_to
        replied = self.api.message(self.id, message_id)
        replied.pop("reply_to_message", None)
        return {"reply_to_message": replied}

    def _file(
        self,
        content: bytes,
        kind: str,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        file_size: int | None = None,
    ) -> JSON:
        file_id, unique_id = self.api.add_file(
            content, kind=kind, file_name=file_name, mime_type=mime_type, file_size=file_size
        )
        stored = self.api.file(file_id)
        data: JSON = {"file_id": file_id, "file_unique_id": unique_id}
        if file_name:
            data["file_name"] = file_name
        if mime_type:
            data["mime_type"] = mime_type
        data["file_size"] = stored.file_size
        return data

    @staticmethod
    def _text_content(text: str, entities: Sequence[Mapping[str, Any]] | None) -> JSON:
        content: JSON = {"text": text}
        found = detect_entities(text) if entities is None else [dict(e) for e in entities]
        if found:
            content["entities"] = found
        return content

    @staticmethod
    def _caption_content(
        caption: str | None, entities: Sequence[Mapping[str, Any]] | None = None
    ) -> JSON:
        if not caption:
            return {}
        content: JSON = {"caption": caption}
        found = detect_entities(caption) if entities is None else [dict(e) for e in entities]
        if found:
            content["caption_entities"] = found
        return content

    # ------------------------------------------------------------------------------- texts

    def send_text(
        self,
        text: str,
        *,
        entities: Sequence[Mapping[str, Any]] | None = None,
        reply_to: SentMessage | int | None = None,
    ) -> JSON:
        """A private text message (entities auto-detected unless given)."""
        content = {**self._text_content(text, entities), **self._reply(reply_to)}
        return self._message_update(content, log=text)

    def send_command(self, command: str, args: str = "") -> JSON:
        """``/command [args]`` with the ``bot_command`` entity at offset 0."""
        command = command if command.startswith("/") else f"/{command}"
        text = f"{command} {args}".rstrip() if args else command
        entities = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        return self._message_update({"text": text, "entities": entities}, log=text)

    def send_in_group(self, chat: Mapping[str, Any] | int, text: str) -> JSON:
        """A text (or ``/command``) this user writes in a group registered with ``add_chat``."""
        chat_id = chat if isinstance(chat, int) else int(chat["id"])
        message = self.api._new_user_message(self, self._text_content(text, None), chat_id=chat_id)
        self.api._log(chat_id, f"user {self.first_name}: {text}")
        update = {"update_id": self.api.next_update_id(), "message": message}
        return self.api._enqueue([update])[0]

    def edit_text(self, update: Mapping[str, Any], new_text: str) -> JSON:
        """An ``edited_message`` update for a text message this user sent earlier."""
        original = update["message"]
        key = (self.id, original["message_id"])
        message = copy.deepcopy(self.api._messages[key])
        message.pop("entities", None)
        message.update(self._text_content(new_text, None))
        message["edit_date"] = self.api.now()
        self.api._messages[key] = message
        self.api._log(self.id, f"user {self.first_name} edited #{key[1]}: {new_text}")
        edited = {"update_id": self.api.next_update_id(), "edited_message": message}
        return self.api._enqueue([edited])[0]

    # ------------------------------------------------------------------------------ buttons

    def press(
        self,
        message: SentMessage | int,
        data: str | None = None,
        *,
        label: str | None = None,
        check: bool = True,
    ) -> JSON:
        """Press an inline button on a bot message: by ``data`` or by button ``label``.

        With ``check`` (default) the button must currently be on the message, as for a real
        user; pass ``check=False`` to simulate a stale client pressing a removed button.
        """
        message_id = message.message_id if isinstance(message, SentMessage) else message
        try:
            sent = self.api.sent_message(self.id, message_id)
        except KeyError:
            raise AssertionError(f"the bot sent no message #{message_id} to {self}") from None
        if check and sent.deleted:
            raise AssertionError(f"message #{message_id} was deleted; nothing to press")
        if label is not None:
            data = sent.callback_data(label)
        if data is None:
            raise ValueError("press() needs data or label")
        if check and all(d != data for row in sent.buttons for _, d in row):
            raise AssertionError(
                f"message {message_id} has no button with callback_data {data!r}; "
                f"buttons: {sent.buttons}"
            )
        query: JSON = {
            "id": self.api._new_callback_query_id(),
            "from": self.to_dict(),
            "message": self.api.message(self.id, message_id),
            "chat_instance": str(-(self.id * 7919 + self.api.bot_id) % 10**19),
            "data": data,
        }
        self.api._register_callback_query(query)
        pressed = next((t for row in sent.buttons for t, d in row if d == data), data)
        self.api._log(self.id, f"user {self.first_name} pressed [{pressed}] on #{message_id}")
        update = {"update_id": self.api.next_update_id(), "callback_query": query}
        return self.api._enqueue([update])[0]

    # -------------------------------------------------------------------------------- media

    def _photo_content(
        self, content: bytes, sizes: Iterable[tuple[int, int]] | None = None
    ) -> JSON:
        photo, _ = self.api._photo_sizes(content, sizes)
        return {"photo": photo}

    def send_photo(
        self,
        content: bytes = TINY_PNG,
        *,
        caption: str | None = None,
        sizes: Iterable[tuple[int, int]] | None = None,
    ) -> JSON:
        """A photo: several PhotoSize entries (small to large), each downloadable as
        ``content``. ``message.photo[-1].file_id`` is the largest size."""
        data = {**self._photo_content(content, sizes), **self._caption_content(caption)}
        return self._message_update(data, log=f"[photo] {caption or ''}".rstrip())

    def send_document(
        self,
        content: bytes,
        *,
        file_name: str = "document.pdf",
        mime_type: str = "application/pdf",
        caption: str | None = None,
        file_size: int | None = None,
    ) -> JSON:
        """A document. ``file_size`` may claim more than ``len(content)`` (e.g. > 20 MB to make
        getFile answer "file is too big")."""
        document = self._file(
            content, "document", file_name=file_name, mime_type=mime_type, file_size=file_size
        )
        data = {"document": document, **self._caption_content(caption)}
        return self._message_update(data, log=f"[document {file_name}] {caption or ''}".rstrip())

    def send_album(
        self,
        items: Sequence[bytes],
        *,
        kind: str = "photo",
        caption: str | None = None,
        file_names: Sequence[str] | None = None,
        mime_type: str = "application/pdf",
        mime_types: Sequence[str] | None = None,
    ) -> list[JSON]:
        """An album: one update per item, all sharing one ``media_group_id``, queued together
        (the caption is on the first item only, like Telegram clients send it); documents are
        of ``mime_type``, or each of its own from ``mime_types``."""
        if kind not in ("photo", "document"):
            raise ValueError("albums here are of photos or documents")
        group_id = self.api._new_media_group_id()
        updates: list[JSON] = []
        for index, content in enumerate(items):
            if kind == "photo":
                media = self._photo_content(content)
            else:
                name = file_names[index] if file_names else f"file_{index + 1}.pdf"
                mime = mime_types[index] if mime_types else mime_type
                media = {
                    "document": self._file(content, "document", file_name=name, mime_type=mime)
                }
            data: JSON = {"media_group_id": group_id, **media}
            if index == 0:
                data.update(self._caption_content(caption))
            message = self.api._new_user_message(self, data)
            updates.append({"update_id": self.api.next_update_id(), "message": message})
        self.api._log(self.id, f"user {self.first_name}: [album of {len(items)} {kind}s]")
        return self.api._enqueue(updates)

    # ----------------------------------------------------------------------------- forwards

    def forward(
        self,
        origin: Mapping[str, Any],
        *,
        text: str | None = None,
        photo: bytes | None = None,
        caption: str | None = None,
    ) -> JSON:
        """A forwarded text (``text``) or photo (``photo`` + optional ``caption``); build the
        ``origin`` with :func:`origin_user`, :func:`origin_hidden_user`, :func:`origin_chat` or
        :func:`origin_channel`."""
        if (text is None) == (photo is None):
            raise ValueError("forward() needs exactly one of text or photo")
        data: JSON = {"forward_origin": copy.deepcopy(dict(origin))}
        if text is not None:
            data.update(self._text_content(text, None))
        else:
            assert photo is not None
            data.update(self._photo_content(photo))
            data.update(self._caption_content(caption))
        shown = text if text is not None else f"[photo] {caption or ''}".rstrip()
        return self._message_update(data, log=f"[forwarded, {origin['type']}] {shown}")

    # ------------------------------------------------------------------- unsupported kinds

    def send_voice(self, content: bytes = b"OggS\x00fake-voice", *, duration: int = 3) -> JSON:
        voice = self._file(content, "voice", mime_type="audio/ogg")
        return self._message_update({"voice": {**voice, "duration": duration}}, log="[voice]")

    def send_video(
        self,
        content: bytes = b"\x00\x00\x00\x18ftypmp42fake-video",
        *,
        duration: int = 5,
        width: int = 640,
        height: int = 360,
        caption: str | None = None,
    ) -> JSON:
        video = self._file(content, "video", file_name="video.mp4", mime_type="video/mp4")
        video.update({"duration": duration, "width": width, "height": height})
        data = {"video": video, **self._caption_content(caption)}
        return self._message_update(data, log="[video]")

    def send_sticker(self, emoji: str = "😀", *, set_name: str = "FakeStickers") -> JSON:
        sticker = self._file(b"RIFF\x00\x00\x00\x00WEBPfake", "sticker")
        sticker.update(
            {
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": emoji,
                "set_name": set_name,
            }
        )
        return self._message_update({"sticker": sticker}, log=f"[sticker {emoji}]")

    def send_location(self, latitude: float = 31.2304, longitude: float = 121.4737) -> JSON:
        location = {"latitude": latitude, "longitude": longitude}
        return self._message_update({"location": location}, log="[location]")

    def send_contact(
        self,
        phone_number: str = "+8613800138000",
        first_name: str = "Bob",
        *,
        last_name: str | None = None,
        user_id: int | None = None,
    ) -> JSON:
        contact: JSON = {"phone_number": phone_number, "first_name": first_name}
        if last_name:
            contact["last_name"] = last_name
        if user_id is not None:
            contact["user_id"] = user_id
        return self._message_update({"contact": contact}, log=f"[contact {phone_number}]")

    def send_raw(self, content: Mapping[str, Any], *, log: str = "[raw message]") -> JSON:
        """Escape hatch: a message with arbitrary extra fields (merged into the skeleton)."""
        return self._message_update(content, log=log)

    # ----------------------------------------------------------------------- conveniences

    def block_bot(self, *, notify: bool = True) -> None:
        self.api.block_bot(self.id, notify=notify)

    def unblock_bot(self, *, notify: bool = True) -> None:
        self.api.unblock_bot(self.id, notify=notify)

    @property
    def received(self) -> list[SentMessage]:
        """What the bot sent to this user so far."""
        return self.api.sent_to(self.id)

    def last_received(self) -> SentMessage:
        return self.api.last_message(self.id)

    async def wait_for_messages(self, count: int = 1, *, timeout: float = 5.0) -> list[SentMessage]:  # noqa: ASYNC109 - the documented waiting API
        """Wait until the bot has sent this user at least ``count`` messages in total."""
        return await self.api.wait_for_sent(self.id, count, timeout=timeout)

    async def next_reply(self, *, timeout: float = 5.0) -> SentMessage:  # noqa: ASYNC109 - the documented waiting API
        """The next bot message this user has not consumed yet via ``next_reply`` (waits for
        it). Handy for step-by-step conversations."""
        messages = await self.api.wait_for_sent(self.id, self._consumed + 1, timeout=timeout)
        self._consumed += 1
        return messages[self._consumed - 1]
