"""The shapes that cross the boundary between a messenger and the engine."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

_SURROGATE = re.compile("[\ud800-\udfff]")


def _valid(text: str | None) -> str | None:
    """Return `text` with lone surrogates (undecodable bytes) as U+FFFD: storable as UTF-8."""
    return None if text is None else _SURROGATE.sub("\ufffd", text)


@dataclass(frozen=True, slots=True)
class ConversationKey:
    """Who is talking: one person on one messenger (their private chat with the bot)."""

    messenger: str
    user_id: str

    def __str__(self) -> str:
        return f"{self.messenger}:{self.user_id}"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file the person sent; `fetch` downloads its bytes only when the engine keeps it."""

    kind: str  # "photo" | "document"
    file_name: str | None = None
    mime_type: str | None = None
    size: int | None = None
    file_id: str | None = None
    file_unique_id: str | None = None
    group_id: str | None = None  # Telegram media_group_id: files sent together as an album
    fetch: Callable[[], Awaitable[bytes]] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Forward:
    """Where a forwarded message came from, as far as the messenger tells."""

    origin: str  # "user" | "hidden_user" | "chat" | "channel"
    sender: str | None = None  # display name, username or channel title
    sender_id: str | None = None
    date: datetime | None = None


@dataclass(frozen=True, slots=True)
class Incoming:
    """One thing the person did: typed text, pressed a button, sent files or forwarded a message."""

    key: ConversationKey
    chat_id: str
    text: str | None = None
    button: str | None = None
    attachments: tuple[Attachment, ...] = ()
    forward: Forward | None = None
    unsupported: str | None = None  # e.g. "voice", "sticker", "location": media we cannot use
    language_hint: str | None = None  # the client's language, used only for a first greeting
    display_name: str | None = None
    # More messages that arrived with this one in a burst (several forwards sent at once).
    batch: tuple[Incoming, ...] = ()
    # The messenger's ids for the update(s) of this message, the same if it is delivered again
    # (Telegram: "BOT_ID:UPDATE_ID"); empty when the messenger never repeats itself.
    deliveries: tuple[str, ...] = ()

    def valid(self) -> Incoming:
        """Return this message with every text valid Unicode (a console may pass bad bytes)."""
        attachments = tuple(
            replace(a, file_name=_valid(a.file_name), mime_type=_valid(a.mime_type))
            for a in self.attachments
        )
        forward = self.forward
        if forward is not None:
            forward = replace(forward, sender=_valid(forward.sender))
        return replace(
            self,
            text=_valid(self.text),
            button=_valid(self.button),
            display_name=_valid(self.display_name),
            attachments=attachments,
            forward=forward,
            batch=tuple(part.valid() for part in self.batch),
        )

    @property
    def command(self) -> tuple[str, str] | None:
        """Return (command, argument text) when the text is a slash command."""
        if not self.text or not self.text.startswith("/"):
            return None
        head, _, rest = self.text.strip().partition(" ")
        name = head[1:].split("@", 1)[0].lower()
        if not name:
            return None
        return name, rest.strip()


@dataclass(frozen=True, slots=True)
class Button:
    """A button under a reply; `data` comes back as `Incoming.button` when pressed."""

    label: str
    data: str


@dataclass(frozen=True, slots=True)
class Document:
    """A file the bot sends back (a letter, an export)."""

    file_name: str
    content: bytes
    mime_type: str = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class Reply:
    """One message from the bot; `edit` asks to update the message whose button was pressed."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    document: Document | None = None
    edit: bool = False
    expects_text: bool = False  # a typed answer is expected (so "1" is an answer, not button 1)
