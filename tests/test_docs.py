"""The README and the code agree: every setting, command and chat command is documented."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from bot.__main__ import _parser as build_parser
from bot.settings_table import SETTINGS
from flows.conversation.registry import default_registry
from flows.definition.schema import load_flows

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_configuration_table() -> None:
    table = {m for m in re.findall(r"^\| `([a-z_.]+)` \|", README, flags=re.MULTILINE)}
    assert {s.key for s in SETTINGS} <= table, {s.key for s in SETTINGS} - table


def _subcommands(parser: argparse.ArgumentParser, prefix: str = "") -> list[str]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                inner = _subcommands(sub, f"{prefix}{name} ")
                found += inner or [f"{prefix}{name}"]
    return found


def test_every_cli_command_is_in_the_commands_table() -> None:
    commands = _subcommands(build_parser())
    assert "cases export" in commands
    for command in commands:
        assert f"`complaint-bot {command}" in README, command


def test_every_chat_command_is_in_the_readme_and_in_help_in_both_languages() -> None:
    catalog = load_flows().catalog
    registry = default_registry()
    commands = [c.name for c in registry.commands()]
    assert {"new", "case", "help", "forget"} <= set(commands)
    for command in commands:
        assert f"`/{command}" in README, command
        for lang in ("zh", "en"):
            assert f"/{command}" in registry.help_text(catalog, lang), (command, lang)
            assert catalog(f"cmd_{command}", lang).strip(), (command, lang)
