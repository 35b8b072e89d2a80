"""The problems found in flow files, and the readers of plain YAML values that report them.

Every reader of the definition wing (steps, ladders, channels, lifecycle, describing) is given
one `Problems` and reports through it, so one run of `flows check` lists every problem of every
file as `file.yaml:LINE: message`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flows.definition.texts import Texts
from flows.definition.yamlfile import Mapping_, YamlSyntaxError, load
from flows.errors import Problem

# Step, option, channel, law and flow ids: short, lower-case, safe in callback data.
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,23}$")


class Problems:
    """Collect problems of the file being read, with the languages every text must have."""

    def __init__(self, languages: tuple[str, ...] = ("zh", "en")) -> None:
        self.problems: list[Problem] = []
        self.file = ""
        self.languages = languages

    def report(self, line: int, message: str) -> None:
        """Record one problem at `line` of the current file."""
        self.problems.append(Problem(self.file, line, message))

    def read_file(self, path: Path) -> Mapping_ | None:
        """Return the top mapping of a YAML file (it becomes the current file), or None."""
        self.file = path.name
        if not path.exists():
            self.report(1, "file is missing")
            return None
        try:
            data = load(path)
        except YamlSyntaxError as exc:
            self.report(exc.line, f"not valid YAML: {exc}")
            return None
        except (OSError, UnicodeDecodeError) as exc:
            self.report(1, f"cannot read: {exc}")
            return None
        if not isinstance(data, Mapping_):
            self.report(1, "expected a mapping at the top of the file")
            return None
        return data

    def texts(self, value: Any, line: int, where: str) -> Texts | None:
        """Return a text per language, or None after reporting a missing or unknown language."""
        if isinstance(value, Mapping_):
            line = value.line
        if not isinstance(value, dict):
            self.report(line, f"{where}: expected a text per language {list(self.languages)}")
            return None
        ok = True
        for language in self.languages:
            text = value.get(language)
            if not isinstance(text, str) or not text.strip():
                self.report(line, f"{where}: missing translation '{language}'")
                ok = False
        for language in value:
            if language not in self.languages:
                self.report(line, f"{where}: unknown language '{language}'")
                ok = False
        return {k: str(v) for k, v in value.items()} if ok else None

    def flag(self, raw: Mapping_, key: str) -> bool:
        """Return `raw[key]` as true or false (absent: false)."""
        value = raw.get(key, False)
        if not isinstance(value, bool):
            self.report(raw.line_of(key), f"{key}: expected true or false, got {value!r}")
            return False
        return value

    def number(self, raw: Mapping_, key: str, default: int) -> int:
        """Return `raw[key]` as a whole number >= 0 (absent: `default`)."""
        value = raw.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            self.report(raw.line_of(key), f"{key}: expected a whole number >= 0, got {value!r}")
            return default
        return value
