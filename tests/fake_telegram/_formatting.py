"""Telegram text formatting as the Bot API server applies it.

The server turns ``text`` + ``parse_mode`` into plain text plus a list of ``MessageEntity``
objects (offsets and lengths in UTF-16 code units), and rejects malformed markup with
``400 Bad Request: can't parse entities: ...``. This module reproduces that closely enough to
catch the mistakes bots really make: unescaped ``<``/``&`` in HTML, unescaped reserved characters
in MarkdownV2, unclosed tags, unsupported tags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

__all__ = [
    "EntityParseError",
    "parse_formatted",
    "strip_and_shift",
    "utf16_len",
]


class EntityParseError(ValueError):
    """The markup could not be parsed; ``str(exc)`` is the text after ``can't parse entities:``."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of all Bot API entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


@dataclass
class _Builder:
    source: str
    out: list[str] = field(default_factory=list)
    length: int = 0  # UTF-16 length of what has been emitted so far
    entities: list[JSON] = field(default_factory=list)

    def emit(self, chunk: str) -> None:
        self.out.append(chunk)
        self.length += utf16_len(chunk)

    def add_entity(
        self, start: int, entity_type: str, *, end: int | None = None, **extra: Any
    ) -> None:
        length = (self.length if end is None else end) - start
        if length <= 0:  # Telegram silently drops empty entities
            return
        entity: JSON = {"type": entity_type, "offset": start, "length": length}
        entity.update({key: value for key, value in extra.items() if value is not None})
        self.entities.append(entity)

    def result(self) -> tuple[str, list[JSON]]:
        self.entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
        return "".join(self.out), self.entities


# --------------------------------------------------------------------------------------- HTML

_HTML_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}
_HTML_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_ENTITY_RE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{1,32});")
_HTML_ATTR_RE = re.compile(r"""([a-zA-Z_-]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")


def _html_unescape(value: str) -> str:
    def repl(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith(("#x", "#X")):
            return chr(int(name[2:], 16))
        if name.startswith("#"):
            return chr(int(name[1:]))
        return _HTML_NAMED_ENTITIES.get(name, match.group(0))

    return _HTML_ENTITY_RE.sub(repl, value)


def _parse_html(text: str) -> tuple[str, list[JSON]]:
    builder = _Builder(text)
    # stack entries: (tag name, entity start, entity type, extra fields)
    stack: list[tuple[str, int, str, JSON]] = []
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if char == "&":
            match = _HTML_ENTITY_RE.match(text, i)
            if match:
                builder.emit(_html_unescape(match.group(0)))
                i = match.end()
                continue
            builder.emit(char)
            i += 1
            continue
        if char != "<":
            builder.emit(char)
            i += 1
            continue
        offset = _byte_offset(text, i)
        if text.startswith("</", i):
            end = text.find(">", i)
            if end < 0:
                raise EntityParseError(f"Unclosed end tag at byte offset {offset}")
            name = text[i + 2 : end].strip().lower()
            if not stack:
                raise EntityParseError(f'Unexpected end tag at byte offset {offset}: "</{name}>"')
            open_name, start, entity_type, fields = stack.pop()
            if name != open_name:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {offset}, expected "</{open_name}>", '
                    f'found "</{name}>"'
                )
            if entity_type != "text_link" or fields.get("url"):  # <a> without href: plain
                builder.add_entity(start, entity_type, **fields)
            i = end + 1
            continue
        # like TDLib: the tag name runs to the first space or '>'
        name_end = i + 1
        while name_end < n and not text[name_end].isspace() and text[name_end] != ">":
            name_end += 1
        if name_end >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
        name = text[i + 1 : name_end].lower()
        if name not in _HTML_SIMPLE_TAGS and name not in ("span", "a", "blockquote", "tg-emoji"):
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {offset}')
        end = text.find(">", name_end)
        if end < 0:
            raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
        attrs = {
            m.group(1).lower(): _html_unescape(m.group(2) or m.group(3) or m.group(4) or "")
            for m in _HTML_ATTR_RE.finditer(text[name_end:end])
        }
        extra: JSON = {}
        if name in _HTML_SIMPLE_TAGS:
            entity_type = _HTML_SIMPLE_TAGS[name]
            if name == "code" and stack and stack[-1][0] == "pre":
                language = attrs.get("class", "")
                if language.startswith("language-"):
                    # <pre><code class="language-x"> makes the surrounding pre carry a language
                    pre = stack[-1]
                    pre[3]["language"] = language.removeprefix("language-")
        elif name == "span":
            if attrs.get("class") != "tg-spoiler":
                raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte {offset}')
            entity_type = "spoiler"
        elif name == "a":
            entity_type = "text_link"
            extra["url"] = attrs.get("href", "")
        elif name == "blockquote":
            entity_type = "expandable_blockquote" if "expandable" in attrs else "blockquote"
        elif name == "tg-emoji":
            emoji_id = attrs.get("emoji-id")
            if not emoji_id:
                raise EntityParseError(f'Tag "tg-emoji" must have attribute "emoji-id" at {offset}')
            entity_type = "custom_emoji"
            extra["custom_emoji_id"] = emoji_id
        else:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {offset}')
        stack.append((name, builder.length, entity_type, extra))
        i = end + 1
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    plain, entities = builder.result()
    # a <code> nested directly in a <pre> is folded into the pre entity by Telegram
    pre_spans = {(e["offset"], e["length"]) for e in entities if e["type"] == "pre"}
    entities = [
        e for e in entities if not (e["type"] == "code" and (e["offset"], e["length"]) in pre_spans)
    ]
    return plain, entities


# --------------------------------------------------------------------------------- MarkdownV2

_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "text_link": "TextUrl",
    "code": "Code",
    "pre": "Pre",
}


def _parse_markdown_v2(text: str) -> tuple[str, list[JSON]]:
    builder = _Builder(text)
    # stack entries: (entity type, entity start, byte offset of the opening marker)
    stack: list[tuple[str, int, int]] = []
    i = 0
    n = len(text)
    at_line_start = True
    quote_start: int | None = None

    def toggle(entity_type: str, index: int) -> None:
        if stack and stack[-1][0] == entity_type:
            _, start, _ = stack.pop()
            builder.add_entity(start, entity_type)
        elif any(entry[0] == entity_type for entry in stack):
            raise EntityParseError(
                f"Can't find end of {_MDV2_NAMES[entity_type]} entity at byte offset {stack[-1][2]}"
            )
        else:
            stack.append((entity_type, builder.length, _byte_offset(text, index)))

    while i < n:
        char = text[i]
        if at_line_start:
            at_line_start = False
            if char == ">":
                if quote_start is None:
                    quote_start = builder.length
                i += 1
                continue
            if quote_start is not None:
                # the quote ends with the previous line, its newline is not part of it
                builder.add_entity(quote_start, "blockquote", end=builder.length - 1)
                quote_start = None
        if char == "\\":
            if i + 1 >= n:
                raise EntityParseError(
                    "Character '\\' is reserved and must be escaped with the preceding '\\'"
                )
            builder.emit(text[i + 1])
            i += 2
            continue
        if char == "\n":
            builder.emit(char)
            at_line_start = True
            i += 1
            continue
        if char == "`":
            offset = _byte_offset(text, i)
            if text.startswith("```", i):
                close = text.find("```", i + 3)
                if close < 0:
                    raise EntityParseError(f"Can't find end of Pre entity at byte offset {offset}")
                body = text[i + 3 : close]
                language = None
                if "\n" in body:
                    first, rest = body.split("\n", 1)
                    if first and " " not in first:
                        language, body = first, rest
                start = builder.length
                builder.emit(_unescape_code(body))
                builder.add_entity(start, "pre", language=language)
                i = close + 3
                continue
            close = _find_unescaped(text, "`", i + 1)
            if close < 0:
                raise EntityParseError(f"Can't find end of Code entity at byte offset {offset}")
            start = builder.length
            builder.emit(_unescape_code(text[i + 1 : close]))
            builder.add_entity(start, "code")
            i = close + 1
            continue
        if char == "*":
            toggle("bold", i)
            i += 1
            continue
        if char == "_":
            if text.startswith("__", i):
                toggle("underline", i)
                i += 2
            else:
                toggle("italic", i)
                i += 1
            continue
        if char == "~":
            toggle("strikethrough", i)
            i += 1
            continue
        if char == "|" and text.startswith("||", i):
            toggle("spoiler", i)
            i += 2
            continue
        if char == "[":
            stack.append(("text_link", builder.length, _byte_offset(text, i)))
            i += 1
            continue
        if char == "]" and stack and stack[-1][0] == "text_link":
            _, start, _ = stack.pop()
            if not text.startswith("(", i + 1):
                raise EntityParseError(
                    "Character ']' is reserved and must be escaped with the preceding '\\'"
                )
            close = _find_unescaped(text, ")", i + 2)
            if close < 0:
                raise EntityParseError(
                    f"Can't find end of a URL at byte offset {_byte_offset(text, i + 1)}"
                )
            url = re.sub(r"\\(.)", r"\1", text[i + 2 : close])
            builder.add_entity(start, "text_link", url=url)
            i = close + 1
            continue
        if char in _MDV2_RESERVED:
            raise EntityParseError(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        builder.emit(char)
        i += 1
    if quote_start is not None:
        builder.add_entity(quote_start, "blockquote")
    if stack:
        entity_type, _, offset = stack[-1]
        raise EntityParseError(
            f"Can't find end of {_MDV2_NAMES[entity_type]} entity at byte offset {offset}"
        )
    return builder.result()


def _find_unescaped(text: str, needle: str, start: int) -> int:
    i = start
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == needle:
            return i
        i += 1
    return -1


def _unescape_code(body: str) -> str:
    return re.sub(r"\\([`\\])", r"\1", body)


# ---------------------------------------------------------------------------- Markdown (legacy)


def _parse_markdown(text: str) -> tuple[str, list[JSON]]:
    builder = _Builder(text)
    markers = {"*": "bold", "_": "italic"}
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and text[i + 1] in "*_`[":
            builder.emit(text[i + 1])
            i += 2
            continue
        offset = _byte_offset(text, i)
        if char in markers:
            close = text.find(char, i + 1)
            if close < 0:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {offset}"
                )
            start = builder.length
            builder.emit(text[i + 1 : close])
            builder.add_entity(start, markers[char])
            i = close + 1
            continue
        if char == "`":
            fence = "```" if text.startswith("```", i) else "`"
            close = text.find(fence, i + len(fence))
            if close < 0:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {offset}"
                )
            start = builder.length
            builder.emit(text[i + len(fence) : close])
            builder.add_entity(start, "pre" if fence == "```" else "code")
            i = close + len(fence)
            continue
        if char == "[":
            match = re.compile(r"\[([^\]]*)\]\(([^)]*)\)").match(text, i)
            if not match:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {offset}"
                )
            start = builder.length
            builder.emit(match.group(1))
            builder.add_entity(start, "text_link", url=match.group(2))
            i = match.end()
            continue
        builder.emit(char)
        i += 1
    return builder.result()


# -------------------------------------------------------------------------------------- API


def parse_formatted(
    text: str, parse_mode: str | None, entities: list[JSON] | None = None
) -> tuple[str, list[JSON]]:
    """Plain text and entities for ``text`` as the server would store it.

    Raises :class:`EntityParseError` for markup Telegram rejects and :class:`ValueError` for an
    unknown parse mode (``Bad Request: unsupported parse_mode``).
    """
    if entities is not None:
        return text, [dict(entity) for entity in entities]
    if not parse_mode:
        return text, []
    mode = parse_mode.lower()
    if mode == "html":
        return _parse_html(text)
    if mode == "markdownv2":
        return _parse_markdown_v2(text)
    if mode == "markdown":
        return _parse_markdown(text)
    raise ValueError(f"unsupported parse_mode {parse_mode!r}")


def strip_and_shift(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Trim surrounding whitespace like Telegram does, moving and clipping entities to match."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    shifted: list[JSON] = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, total)
        if end > start:
            shifted.append({**entity, "offset": start, "length": end - start})
    return stripped, shifted
