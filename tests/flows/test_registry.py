"""The registry: what takes each command, where the command menu and /help come from."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest
from engine_chat import NOW, Person

from flows.conversation.context import TurnContext
from flows.conversation.engine import Engine
from flows.conversation.registry import Registry, Scope, default_registry
from flows.definition.schema import DEFINITIONS, load_flows
from flows.errors import FlowError
from storage import SqliteStore

ROOT = Path(__file__).parent.parent.parent

PING_TEXTS = """
  cmd_ping: {zh: 测试连接, en: Check that I answer}
  help_ping:
    zh: "/ping — 测试连接"
    en: "/ping — check that I answer"
"""


async def ping(ctx: TurnContext, arg: str) -> None:
    """Answer /ping (a command only this test registers)."""
    ctx.say(f"pong {arg}".strip())


def with_ping(registry: Registry) -> Registry:
    registry.command("ping", ping)
    return registry


@pytest.fixture
async def store(tmp_path: Path) -> SqliteStore:
    store = await SqliteStore.open(tmp_path / "db.sqlite3", tmp_path / "data")
    yield store  # type: ignore[misc]
    await store.close()


def definitions_with(tmp_path: Path, texts: str) -> Path:
    """Copy the flow definitions, with `texts` added to common.yaml's texts (its last block)."""
    folder = tmp_path / "definitions"
    shutil.copytree(DEFINITIONS, folder)
    common = folder / "common.yaml"
    common.write_text(common.read_text(encoding="utf-8") + texts, encoding="utf-8")
    return folder


async def test_a_new_command_answers_and_is_in_the_menu_and_in_help(
    tmp_path: Path, store: SqliteStore
) -> None:
    flows = load_flows(definitions_with(tmp_path, PING_TEXTS))
    engine = Engine(flows, store, clock=lambda: NOW, registry=with_ping(default_registry()))
    alice = Person(engine)

    await alice.send("/ping hello")
    assert alice.text == "pong hello"

    assert ("ping", "Check that I answer") in engine.command_menu("en")
    assert ("ping", "测试连接") in engine.command_menu("zh")
    await alice.send("/help")
    assert "/ping — 测试连接" in alice.text
    await alice.send("/lang en")
    await alice.send("/help")
    assert "/ping — check that I answer" in alice.text


async def test_the_default_engine_knows_no_ping(store: SqliteStore) -> None:
    engine = Engine(load_flows(), store, clock=lambda: NOW)
    alice = Person(engine)
    await alice.send("/ping")
    assert "我不认识 /ping 这个命令" in alice.text
    assert "ping" not in [name for name, _ in engine.command_menu("zh")]


async def test_a_command_without_its_texts_stops_start_up(store: SqliteStore) -> None:
    with pytest.raises(FlowError) as raised:
        Engine(load_flows(), store, registry=with_ping(default_registry()))
    assert "common.yaml:1: texts.cmd_ping: missing (the command /ping says it)" in str(raised.value)
    assert "texts.help_ping: missing" in str(raised.value)


async def test_help_lists_the_menu_in_menu_order_in_both_languages(store: SqliteStore) -> None:
    engine = Engine(load_flows(), store, clock=lambda: NOW)
    alice = Person(engine)
    for lang in ("zh", "en"):
        await alice.send(f"/lang {lang}")
        await alice.send("/help")
        listed = [line.split()[0] for line in alice.text.splitlines() if line.startswith("/")]
        assert listed == [f"/{name}" for name, _ in engine.command_menu(lang)]
    assert "start" not in [name for name, _ in engine.command_menu("zh")]  # said, not listed


def test_a_command_or_a_button_registered_twice_is_refused() -> None:
    registry = default_registry()
    with pytest.raises(ValueError, match="/help is registered twice"):
        registry.command("help", ping)
    with pytest.raises(ValueError, match="'cat' is registered twice"):
        registry.button(Scope.IDLE, "cat", registry.show_help)  # type: ignore[arg-type]


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_handlers_get_a_context_not_the_engine() -> None:
    """Only the composition imports the Engine; handlers never import the registry."""
    conversation = ROOT / "flows" / "conversation"
    for path in sorted((ROOT / "flows").rglob("*.py")):
        imports = _imports(path)
        if path != conversation / "engine.py":
            assert "flows.conversation.engine" not in imports, path
        if path.parent == conversation / "handlers" or path.name in ("answers.py", "context.py"):
            assert not any(i.startswith("flows.conversation.registry") for i in imports), path


def test_only_the_composition_root_imports_the_engine() -> None:
    allowed = {ROOT / "bot" / "app.py"}
    for path in sorted((ROOT / "bot").rglob("*.py")):
        if path not in allowed:
            assert "flows.conversation.engine" not in _imports(path), path
