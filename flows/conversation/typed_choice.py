"""Which button a typed answer names, at a step that offers buttons."""

from __future__ import annotations

from collections.abc import Sequence

from flows.definition.schema import Option
from flows.definition.texts import pick

_END_MARKS = " \t\n。．.!！?？,，、;；"


def _plain(text: str) -> str:
    return " ".join(text.split()).strip(_END_MARKS).casefold()


def typed_option(options: Sequence[Option], text: str, lang: str) -> str | None:
    """Return the id of the option `text` names, or None when it names none or several.

    It names one by its id or its label in any language, by its number in the list ("2"), or
    by the start of its label in the person's language ("垃圾" for "垃圾 / 骚扰短信") when no
    other label there starts the same way.
    """
    wanted = _plain(text)
    if not wanted:
        return None
    for option in options:
        if wanted == option.id.casefold() or wanted in map(_plain, option.label.values()):
            return option.id
    if wanted.isascii() and wanted.isdigit():
        number = int(wanted)
        return options[number - 1].id if 1 <= number <= len(options) else None
    starting = [o.id for o in options if _plain(pick(o.label, lang)).startswith(wanted)]
    return starting[0] if len(starting) == 1 else None
