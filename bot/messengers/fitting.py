"""Fit the engine's replies to a messenger's limits: long texts split, buttons capped, no edits.

The engine answers without knowing where it is read; each messenger passes the replies through
`fit` with its own `Limits` before sending them, so that nothing it refuses is ever sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.messengers.base import Limits, Measure
from flows.model import Button, Reply

# The text of a message that only carries the buttons that did not fit under the one before.
MORE_BUTTONS = "⋯"


def clip(text: str, limit: int, measure: Measure) -> str:
    """Return the start of `text` that fits in one message of `limit` units."""
    return text[: measure.fitting(text, limit)]


def split_text(text: str, limit: int, measure: Measure) -> list[str]:
    """Split `text` into messages of at most `limit` units, at line breaks where possible.

    Each messenger counts its own way: Telegram in UTF-16 code units (an emoji outside the BMP
    counts twice), WeChat in UTF-8 bytes (a Chinese character counts three times).
    """
    chunks: list[str] = []
    while measure.length(text) > limit:
        fits = measure.fitting(text, limit)
        cut = text.rfind("\n", 0, fits)
        if cut <= 0:
            cut = max(fits, 1)  # a limit below one character still moves on
        chunks.append(text[:cut])
        text = text[cut:].lstrip("\n")
    chunks.append(text)
    return chunks


def button_groups(
    rows: tuple[tuple[Button, ...], ...], cap: int | None
) -> list[tuple[tuple[Button, ...], ...]]:
    """Cut keyboard rows into keyboards of at most `cap` buttons, keeping rows where they fit."""
    if cap is None or sum(len(row) for row in rows) <= cap:
        return [rows]
    groups: list[tuple[tuple[Button, ...], ...]] = []
    current: list[tuple[Button, ...]] = []
    count = 0
    for row in rows:
        for start in range(0, len(row), cap):  # a row longer than the cap is cut too
            part = row[start : start + cap]
            if count + len(part) > cap:
                groups.append(tuple(current))
                current, count = [], 0
            current.append(part)
            count += len(part)
    if current:
        groups.append(tuple(current))
    return groups


def fit(replies: Sequence[Reply], limits: Limits) -> list[Reply]:
    """Return the replies as messages the messenger accepts, in the order they are to be read.

    A long text becomes several messages, the buttons under the last; buttons beyond the cap
    follow in messages of their own; an edit becomes a new message where edits are impossible.
    The document of a reply stays with its last message. Where a turn may hold only so many
    messages, texts are joined as long as they fit (what still exceeds it is the messenger's
    to budget: WeChat keeps the rest for "继续").
    """
    fitted = _split(replies, limits)
    if limits.messages_per_turn is not None and sent_count(fitted) > limits.messages_per_turn:
        fitted = _joined(fitted, limits)
    return fitted


def sent_count(replies: Sequence[Reply]) -> int:
    """Return how many messages these replies take: a text is one, a document another."""
    return sum(bool(r.text) + (r.document is not None) for r in replies)


def _joined(replies: list[Reply], limits: Limits) -> list[Reply]:
    """Join each plain text (no buttons, file or edit) to the message after it where it fits."""
    joined: list[Reply] = []
    for reply in replies:
        before = joined[-1] if joined else None
        plain = before is not None and not (before.buttons or before.document or before.edit)
        if before is not None and plain and reply.text and not reply.edit:
            text = f"{before.text}\n\n{reply.text}"
            if limits.measure.length(text) <= limits.max_text:
                joined[-1] = replace(reply, text=text)
                continue
        joined.append(reply)
    return joined


def _split(replies: Sequence[Reply], limits: Limits) -> list[Reply]:
    fitted: list[Reply] = []
    for reply in replies:
        edit = reply.edit and limits.can_edit
        chunks = split_text(reply.text, limits.max_text, limits.measure) if reply.text else [""]
        groups = button_groups(reply.buttons, limits.buttons_per_message)
        expects = reply.expects_text
        messages = [
            Reply(chunk, edit=edit and i == 0, expects_text=expects)
            for i, chunk in enumerate(chunks)
        ]
        messages[-1] = replace(messages[-1], buttons=groups[0])
        messages += [
            Reply(MORE_BUTTONS, buttons=group, expects_text=expects) for group in groups[1:]
        ]
        messages[-1] = replace(messages[-1], document=reply.document)
        fitted += messages
    return fitted
