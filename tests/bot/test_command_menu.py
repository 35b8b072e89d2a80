"""The Telegram command menu is the engine's registered commands, in both languages."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_telegram import FakeBotAPI
from telegram_chat import Chat, bot_settings, running_bot

import flows.conversation.engine
from flows.conversation.context import TurnContext
from flows.conversation.registry import Registry, default_registry
from flows.definition.schema import DEFINITIONS

PING_TEXTS = """
  cmd_ping: {zh: 测试连接, en: Check that I answer}
  help_ping:
    zh: "/ping — 测试连接"
    en: "/ping — check that I answer"
"""


async def ping(ctx: TurnContext, arg: str) -> None:
    """Answer /ping (a command only this test registers)."""
    ctx.say("pong")


def with_ping() -> Registry:
    registry = default_registry()
    registry.command("ping", ping)
    return registry


async def test_a_newly_registered_command_is_in_the_telegram_menu_and_in_help(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    definitions = tmp_path / "definitions"
    definitions.mkdir()
    for source in DEFINITIONS.glob("*.yaml"):
        (definitions / source.name).write_bytes(source.read_bytes())
    common = definitions / "common.yaml"
    common.write_text(common.read_text(encoding="utf-8") + PING_TEXTS, encoding="utf-8")
    monkeypatch.setattr(flows.conversation.engine, "default_registry", with_ping)
    settings = bot_settings(tmp_path, flows_dir=str(definitions))
    fake = FakeBotAPI()
    chat = Chat(fake, fake.add_user("Alice"))
    async with running_bot(fake, settings):
        await fake.wait_for_calls("setMyCommands", 2)
        await chat.say("/ping", "pong")
        await chat.say("/help", "/ping — 测试连接")
    assert {"command": "ping", "description": "测试连接"} in fake.commands()
    english = fake.commands(language_code="en")
    assert {"command": "ping", "description": "Check that I answer"} in english
    assert [c["command"] for c in english][-2:] == ["help", "ping"]
