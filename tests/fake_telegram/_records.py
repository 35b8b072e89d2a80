"""Plain records the fake keeps about what happened: calls, stored files, sent messages."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from ._http import UploadedFile

JSON = dict[str, Any]

__all__ = ["ApiCall", "CallbackAnswer", "SentMessage", "StoredFile"]


@dataclass(frozen=True)
class ApiCall:
    """One Bot API request: canonical method name, decoded parameters, uploads and the answer."""

    method: str
    params: JSON
    files: dict[str, UploadedFile]
    status: int
    response: JSON | None  # the JSON answer; None for non-JSON answers (nginx 502 pages)
    at: float  # loop.time() when the answer was produced

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def result(self) -> Any:
        return None if self.response is None else self.response.get("result")

    @property
    def description(self) -> str | None:
        return None if self.response is None else self.response.get("description")


@dataclass
class StoredFile:
    """A file the fake can serve through getFile + the file download URL."""

    file_id: str
    file_unique_id: str
    kind: str  # photo, document, voice, video, sticker, ...
    content: bytes
    file_path: str
    file_size: int
    file_name: str | None = None
    mime_type: str | None = None
    source_url: str | None = None  # set when the bot sent the file by HTTP URL


@dataclass
class CallbackAnswer:
    """The bot's answerCallbackQuery for one query."""

    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int | None


def _button_rows(markup: JSON | None) -> list[list[tuple[str, str | None]]]:
    if not markup or "inline_keyboard" not in markup:
        return []
    return [
        [(button.get("text", ""), button.get("callback_data")) for button in row]
        for row in markup["inline_keyboard"]
    ]


@dataclass
class SentMessage:
    """A message the bot sent, in its current state (after edits), plus its earlier versions.

    ``raw`` is the Message JSON exactly as the fake returned it to the bot (plain text, entities,
    inline keyboard). ``source_text``/``parse_mode`` are what the bot asked for (with markup).
    """

    chat_id: int
    message_id: int
    method: str
    raw: JSON
    params: JSON  # parameters of the call that sent the message
    source_text: str | None
    parse_mode: str | None
    files: dict[str, StoredFile] = field(default_factory=dict)
    history: list[JSON] = field(default_factory=list)  # earlier versions of ``raw``
    deleted: bool = False

    @property
    def text(self) -> str | None:
        """Plain text (or caption) as the user sees it, markup removed."""
        value = self.raw.get("text", self.raw.get("caption"))
        return value if isinstance(value, str) else None

    @property
    def entities(self) -> list[JSON]:
        entities = self.raw.get("entities", self.raw.get("caption_entities"))
        return list(entities) if isinstance(entities, list) else []

    @property
    def reply_markup(self) -> JSON | None:
        """The reply_markup the bot passed (inline, reply keyboard, remove or force reply)."""
        markup = self.raw.get("reply_markup")  # inline keyboards, kept current through edits
        if markup is None:
            original = self.params.get("reply_markup")
            if isinstance(original, dict) and "inline_keyboard" not in original:
                markup = original
        return markup if isinstance(markup, dict) else None

    @property
    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """Inline keyboard rows as ``(label, callback_data)``; url buttons have ``None`` data."""
        return _button_rows(self.raw.get("reply_markup"))

    @property
    def button_labels(self) -> list[str]:
        return [label for row in self.buttons for label, _ in row]

    @property
    def keyboard(self) -> list[list[str]]:
        """Reply-keyboard rows (labels) sent with this message, [] if none."""
        markup = self.params.get("reply_markup")
        if not isinstance(markup, dict) or "keyboard" not in markup:
            return []
        return [
            [button if isinstance(button, str) else button.get("text", "") for button in row]
            for row in markup["keyboard"]
        ]

    @property
    def document(self) -> StoredFile | None:
        return self.files.get("document")

    @property
    def photo(self) -> StoredFile | None:
        return self.files.get("photo")

    @property
    def edited(self) -> bool:
        return bool(self.history)

    @property
    def reply_to_message_id(self) -> int | None:
        replied = self.raw.get("reply_to_message")
        return replied.get("message_id") if isinstance(replied, dict) else None

    def callback_data(self, label: str) -> str:
        """The callback_data of the inline button labelled ``label`` (AssertionError if absent)."""
        for row in self.buttons:
            for text, data in row:
                if text == label and data is not None:
                    return data
        raise AssertionError(
            f"message {self.message_id} has no callback button {label!r}; it has {self.buttons}"
        )

    def snapshot(self) -> JSON:
        return copy.deepcopy(self.raw)

    def describe(self) -> str:
        """One line for transcripts and assertion messages."""
        parts: list[str] = []
        if self.document is not None:
            parts.append(f"[document {self.document.file_name}]")
        if self.photo is not None:
            parts.append("[photo]")
        if self.text is not None:
            parts.append(self.text)
        for row in self.buttons:
            parts.append("[" + " | ".join(label for label, _ in row) + "]")
        if self.keyboard:
            parts.append("{keyboard: " + " / ".join(" | ".join(r) for r in self.keyboard) + "}")
        if self.deleted:
            parts.append("(deleted)")
        return f"#{self.message_id} " + " ".join(parts)
