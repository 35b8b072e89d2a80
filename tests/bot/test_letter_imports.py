"""A letter's data flows one way: flows gives facts, letter_facts gathers them, letters renders.

Read from the source, not run: `flows` never reaches back into `bot`, and the letter modules
take their facts from the definition and the case, never from the chat's own wording of them
(the channel cards, the follow-ups, the turns), which would send a letter's data round trips.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LETTER_MODULES = ("bot/letter_facts.py", "bot/letters.py", "bot/export.py")
# The chat: what it says of channels and cases is worded for a message, not for a letter.
CHAT = (
    "flows.conversation.channel_text",
    "flows.conversation.followup",
    "flows.conversation.engine",
)


def imports(path: Path) -> set[str]:
    """Return every module `path` imports (absolute names)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


@pytest.mark.parametrize(
    "path", sorted((ROOT / "flows").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_flows_never_import_the_bot_or_the_storage(path: Path) -> None:
    wrong = {n for n in imports(path) if n.split(".")[0] in ("bot", "storage", "telegram")}
    assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"


@pytest.mark.parametrize("name", LETTER_MODULES)
def test_letters_take_facts_not_the_chats_wording(name: str) -> None:
    found = imports(ROOT / name)
    wrong = {n for n in found if n.startswith(CHAT) or n.split(".")[-1].endswith("_turn")}
    assert not wrong, f"{name} imports {sorted(wrong)}"
