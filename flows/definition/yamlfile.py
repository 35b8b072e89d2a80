"""Read YAML keeping line numbers, so every complaint about a file can say `file.yaml:LINE`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class Mapping_(dict[str, Any]):
    """A YAML mapping that remembers its line and the line of each key."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        """Return the line of `key`, or of the mapping when the key is absent."""
        return self.key_lines.get(key, self.line)


class DuplicateKey(yaml.MarkedYAMLError):
    """The same key twice in one mapping; plain YAML would silently keep the last."""


class _Loader(yaml.SafeLoader):
    pass


# libyaml parses the flow files about 20 times faster than PyYAML's own Python parser, which made
# loading the flows most of the bot's start-up. Its error messages and lines are worded a little
# differently, so a file it rejects is read again by the Python parser, which says what is wrong.
_FastLoader: type[yaml.CSafeLoader] | None = None
if yaml.__with_libyaml__:

    class _CLoader(yaml.CSafeLoader):
        pass

    _FastLoader = _CLoader


def _construct_mapping(
    loader: yaml.SafeLoader | yaml.CSafeLoader, node: yaml.MappingNode
) -> Mapping_:
    loader.flatten_mapping(node)
    result = Mapping_()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            key = str(key)
        if key in result:
            raise DuplicateKey(problem=f"duplicate key {key!r}", problem_mark=key_node.start_mark)
        try:
            result[key] = loader.construct_object(value_node, deep=True)
        except ValueError as exc:  # YAML read a value it cannot build, like 2027-13-01
            raise yaml.constructor.ConstructorError(
                problem=str(exc), problem_mark=value_node.start_mark
            ) from exc
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
if _FastLoader is not None:
    _FastLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class YamlSyntaxError(Exception):
    """The file is not valid YAML; carries the line."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        super().__init__(message)


def load(path: Path) -> Any:
    """Parse one YAML file; mappings come back as `Mapping_` with line numbers."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise YamlSyntaxError(line, f"not UTF-8 text (byte {data[exc.start]:#04x})") from exc
    if _FastLoader is not None:
        try:
            return yaml.load(text, Loader=_FastLoader)
        except yaml.YAMLError:
            pass  # read again below, for the Python parser's message and line
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise YamlSyntaxError(line, f"{exc.problem or exc.context or 'invalid YAML'}") from exc
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(1, str(exc)) from exc
