"""Fit a turn's replies into WeChat's rules: at most 5 messages per person's message, 2,048
bytes per text, no edits, no keyboards.

Texts in a row are merged up to the byte limit; a text goes into the head of the menu that
follows it when it fits (1,024 bytes); a letter goes as text and as its .txt file (other
formats of the same letter are left out); what does not fit in the quota waits, and the last
message says how to ask for it ("回复「继续」").
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from bot.messengers.numbered import OnScreen, question
from bot.messengers.wecom import menus
from flows.model import Button, Document, Reply

MAX_TEXT = 2048  # bytes
MORE_WORDS = frozenset({"继续", "continue", "more"})
_MORE = {
    "zh": "（还有 {n} 条，回复「继续」查看）",
    "en": '({n} more: reply 继续 or "more" to see them)',
}


@dataclass(frozen=True, slots=True)
class Out:
    """One WeChat message: a text, a msgmenu (text as its head), or a file."""

    text: str = ""
    menu: tuple[Button, ...] = ()
    document: Document | None = None

    def to_json(self) -> dict[str, Any]:
        doc = self.document
        return {
            "text": self.text,
            "menu": [[b.label, b.data] for b in self.menu],
            "document": None
            if doc is None
            else [doc.file_name, doc.mime_type, base64.b64encode(doc.content).decode()],
        }

    def as_reply(self) -> Reply:
        """Return this message as the outbox keeps it: a reply, one menu item a row."""
        return Reply(self.text, tuple((b,) for b in self.menu), self.document)

    @classmethod
    def of_reply(cls, reply: Reply) -> Out:
        """Return the message `as_reply` kept."""
        return cls(reply.text, tuple(b for row in reply.buttons for b in row), reply.document)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Out:
        doc = data.get("document")
        return cls(
            data.get("text", ""),
            tuple(Button(label, value) for label, value in data.get("menu", [])),
            None if doc is None else Document(doc[0], base64.b64decode(doc[2]), doc[1]),
        )


@dataclass(slots=True)
class Rendered:
    """A turn as WeChat messages, and what is on screen after it (what a typed line presses)."""

    outs: list[Out] = field(default_factory=list)
    screen: OnScreen = field(default_factory=OnScreen)


def utf8_length(text: str) -> int:
    """Return the length of `text` as WeCom counts it: in UTF-8 bytes."""
    return len(text.encode())


def split_bytes(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split text into pieces of at most `limit` UTF-8 bytes, at line breaks where possible."""
    pieces: list[str] = []
    while utf8_length(text) > limit:
        fits = len(text.encode()[:limit].decode(errors="ignore"))
        cut = text.rfind("\n", 0, fits)
        if cut <= 0:
            cut = fits
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n")
    pieces.append(text)
    return pieces


def render(
    replies: Sequence[Reply],
    screen: OnScreen,
    *,
    use_menus: bool = True,
    formats: frozenset[str],
) -> Rendered:
    """Turn replies into WeChat messages, before any budget (edits become new messages)."""
    result = Rendered(screen=screen.after(replies))
    active = question(replies)
    for index, reply in enumerate(replies):
        buttons = [b for row in reply.buttons for b in row]
        number = index == active and not reply.expects_text
        text = reply.text
        if buttons and use_menus and menus.fits_menu(buttons):
            items = tuple(
                Button(f"{n}. {b.label}" if number else b.label, b.data)
                for n, b in enumerate(buttons, start=1)
            )
            if text and utf8_length(text) > menus.MAX_HEAD:
                result.outs += [Out(piece) for piece in split_bytes(text)]
                text = ""
            result.outs.append(Out(text, items))
        else:
            if buttons:
                lines = menus.numbered(buttons) if number else menus.listed(buttons)
                text = f"{text}\n\n{lines}" if text else lines
            if text:
                result.outs += [Out(piece) for piece in split_bytes(text)]
        if reply.document is not None and _sent(reply.document, formats):
            result.outs.append(Out(document=reply.document))
    result.outs = merge(result.outs)
    return result


def _sent(document: Document, formats: frozenset[str]) -> bool:
    suffix = PurePath(document.file_name).suffix.lstrip(".").lower()
    return not formats or suffix in formats


def merge(outs: list[Out]) -> list[Out]:
    """Join texts in a row, and a text into the head of the menu after it, within the limits."""
    merged: list[Out] = []
    for out in outs:
        last = merged[-1] if merged else None
        plain = last is not None and not last.menu and last.document is None
        if plain and last is not None and out.document is None and last.text:
            joined = f"{last.text}\n\n{out.text}" if out.text else last.text
            limit = menus.MAX_HEAD if out.menu else MAX_TEXT
            if utf8_length(joined) <= limit:
                merged[-1] = Out(joined, out.menu)
                continue
        merged.append(out)
    return merged


def budget(outs: list[Out], room: int, language: str) -> tuple[list[Out], list[Out]]:
    """Return what to send now within `room` messages, and what waits for "继续"."""
    if room <= 0:
        return [], outs
    if len(outs) <= room:
        return outs, []
    now, rest = outs[: room - 1], outs[room - 1 :]
    return [*now, Out(_MORE.get(language, _MORE["zh"]).format(n=len(rest)))], rest
