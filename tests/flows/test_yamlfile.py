"""The YAML reader: libyaml reads the files, and reads them exactly as PyYAML's own parser does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.definition import yamlfile
from flows.definition.yamlfile import Mapping_, YamlSyntaxError

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [
    *sorted([*(ROOT / "flows").rglob("*.yaml"), *(ROOT / "bot").rglob("*.yaml")]),
    ROOT / "config.example.yaml",
]


def _python_parser(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=yamlfile._Loader)


def _same(fast: Any, slow: Any, where: str) -> None:
    assert type(fast) is type(slow), where
    if isinstance(slow, Mapping_):
        assert list(fast) == list(slow), where
        assert (fast.line, fast.key_lines) == (slow.line, slow.key_lines), where
        for key in slow:
            _same(fast[key], slow[key], f"{where}/{key}")
    elif isinstance(slow, list):
        assert len(fast) == len(slow), where
        for i, (a, b) in enumerate(zip(fast, slow, strict=True)):
            _same(a, b, f"{where}[{i}]")
    else:
        assert fast == slow, where


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_file_reads_the_same_lines_and_values(path: Path) -> None:
    _same(yamlfile.load(path), _python_parser(path), path.name)


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML built without libyaml")
def test_the_shipped_files_are_read_by_libyaml() -> None:
    # The reason for the fast path: start-up and every test that starts the bot read these.
    assert yamlfile._FastLoader is not None
    for path in SHIPPED:
        assert isinstance(yaml.load(path.read_text("utf-8"), Loader=yamlfile._FastLoader), dict)


def test_what_only_python_parser_accepts_still_loads(tmp_path: Path) -> None:
    # libyaml refuses a lone surrogate escape; PyYAML (and so the bot before libyaml) took it.
    path = tmp_path / "odd.yaml"
    path.write_text('text: "\\ud800"\nnext: 2\n', encoding="utf-8")
    loaded = yamlfile.load(path)
    assert loaded == {"text": "\ud800", "next": 2} and loaded.line_of("next") == 2


def test_a_broken_file_is_reported_as_python_parser_words_it(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("a: 1\nb: [1, 2\nc: 3\n", encoding="utf-8")
    with pytest.raises(YamlSyntaxError) as fast:
        yamlfile.load(path)
    with pytest.raises(yaml.MarkedYAMLError) as slow:
        _python_parser(path)
    mark = slow.value.problem_mark
    assert mark is not None
    assert (fast.value.line, str(fast.value)) == (mark.line + 1, slow.value.problem)
