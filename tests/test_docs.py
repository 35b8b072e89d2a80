"""The README and the code agree: every setting, command and chat command is documented."""

from __future__ import annotations

import argparse
import asyncio
import re
import shlex
from pathlib import Path

import pytest

from bot.__main__ import _parser as build_parser
from bot.__main__ import main as cli_main
from bot.settings_table import SETTINGS
from flows.conversation.registry import default_registry
from flows.definition.schema import load_flows
from storage import SqliteStore

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


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


# Every `complaint-bot ...` command the documentation writes is run as written, its placeholders
# filled in and its optional parts included: a command the parser refuses ("unrecognized
# arguments") fails here, as `complaint-bot run --config FILE` once did.
DOCS = [README, *(p.read_text(encoding="utf-8") for p in (ROOT / "docs").glob("*.md"))]
PLACEHOLDERS = {
    "FILE": "{config}",
    "PATH": "{db}",
    "DIR": "{data}",
    "ID": "telegram:1",
    "NUMBER": "TS-2026-K7M4QJ",
    "FLOW_ID": "sms",
    "N": "2",
    "S": "10690123456789",
    "FILE.zip": "{data}/out.zip",
    "FILE.tsv": str(ROOT / "tests" / "data" / "sms_eval.tsv"),
    "TEXT": "【某银行】您的账户异常，请点击 http://x.cn 验证",
    "SQLITE_FILE": "{db}",
    "POSTGRESQL_URL": "postgresql://nobody@127.0.0.1:1/none",  # refused: nothing listens there
}
# What each command must end with when run on an empty database: 0 success, 1 a clear refusal.
EXPECTED_EXIT = {
    "flows check": 0,
    "flows diagram": 0,
    "cases list": 0,
    "cases due": 0,
    "cases show": 1,  # no such case
    "cases export": 1,  # no such case
    "check": 0,
    "users forget": 1,  # nothing to delete
    "run": 1,  # no Telegram token configured
    "db migrate": 0,  # the SQLite database is brought up to date (it already is)
    "db copy": 1,  # the PostgreSQL server named cannot be reached
    "serve": 1,  # no WeCom corp configured
    "wecom link": 1,  # no WeCom corp configured
    "wecom check": 1,  # no WeCom corp configured
}


async def _create_database(db: Path, data: Path) -> None:
    store = await SqliteStore.open(db, data)
    await store.close()


def documented_commands() -> list[str]:
    """Return each distinct `complaint-bot ...` command written in the README and docs/."""
    found: dict[str, None] = {}
    for text in DOCS:
        for span in re.findall(r"`(complaint-bot [^`]+)`", text):
            found[span.replace("\\|", "|")] = None
    return list(found)


def argv_of(command: str, paths: dict[str, str]) -> list[str]:
    """Turn a documented command into arguments: optional parts kept, placeholders filled."""
    words: list[str] = []
    for word in shlex.split(command.replace("[", " ").replace("]", " "))[1:]:
        if "|" in word:
            word = word.split("|")[0]  # zh|en: the first choice
        if words and words[-1] == "--eval" and word == "FILE":
            word = "FILE.tsv"  # the prose's short form of the labelled file
        word = PLACEHOLDERS.get(word, word)
        words.append(word.format(**paths))
    return words


def test_the_documentation_writes_commands() -> None:
    commands = documented_commands()
    assert any(c.startswith("complaint-bot run --config") for c in commands)
    assert len(commands) >= 12, commands


@pytest.mark.parametrize("command", documented_commands())
def test_each_documented_command_runs_as_written(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    data = tmp_path / "data"
    config = tmp_path / "config.yaml"
    config.write_text(
        f'storage:\n  db_path: "{tmp_path / "bot.sqlite3"}"\n  data_dir: "{data}"\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(ROOT)  # paths the docs write (corpus/heldout.tsv) are from the checkout
    monkeypatch.setattr("bot.__main__.DEFAULT_CONFIG", config)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    asyncio.run(_create_database(tmp_path / "bot.sqlite3", data))
    paths = {"config": str(config), "db": str(tmp_path / "bot.sqlite3"), "data": str(data)}
    if command.startswith("complaint-bot flows check"):
        paths["data"] = str(ROOT / "flows" / "definitions")  # its DIR is a folder of flows
    argv = argv_of(command, paths)
    name = " ".join(argv[:2]) if argv[0] in ("flows", "cases", "users", "db", "wecom") else argv[0]
    if name == "chat":  # interactive: parsing is what can go wrong in the wording
        build_parser().parse_args(argv)
        return
    try:
        status = cli_main(argv)
    except SystemExit as exc:  # argparse refused the command as documented
        pytest.fail(f"{command!r} is refused: {capsys.readouterr().err.strip()} ({exc})")
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert status == EXPECTED_EXIT[name], (command, err)
