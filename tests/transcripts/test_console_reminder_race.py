"""At a terminal, a number typed just as a reminder prints is not taken for either list.

The person is answering a question ("1" for its first option) when the follow-up of another
case prints under it, its "1" being "✅ 已解决". Typed within seconds, the number may mean
either: it is not taken, and they are asked again. Typed later, it answers the follow-up. Piped
input (the transcripts) is read as written.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from test_transcripts import HERE, Session

from bot.messengers.console import MESSENGER
from flows.model import ConversationKey

UNSEEN = {"zh": "可能是在上面最新的一组选项到达之前写的", "en": "may have been written before"}
RESOLVED = {"zh": "已标记为解决", "en": "is marked resolved"}
FOLLOW_UP = {"zh": "答复你了吗", "en": "answered you?"}
FIRST = {"zh": "  1. ✅ 已解决", "en": "  1. ✅ Resolved"}


class Terminal(io.StringIO):
    """Input as from a terminal."""

    def isatty(self) -> bool:
        return True


def filing_lines() -> list[str]:
    """Return what the person types in the calls transcript, up to filing."""
    typed: list[str] = []
    for raw in (HERE / "followup_close.txt").read_text(encoding="utf-8").splitlines():
        if raw.startswith("> "):
            typed.append(raw[2:])
            if raw == "> 提交投诉":
                return typed
    raise AssertionError("the transcript never files")


@pytest.fixture
async def terminal(tmp_path: Path) -> AsyncIterator[Session]:
    session = Session(tmp_path, stdin=Terminal())
    await session.start()
    yield session
    await session.stop()


async def reminded_at_the_menu(session: Session, language: str = "zh") -> None:
    """File the calls complaint, open the category menu, and let its follow-up print."""
    for line in filing_lines():
        await session.send(line)
    assert len(await session.cases()) == 1
    await session.send(f"/lang {language}")
    menu = await session.send("/start")
    assert "  1. " in menu, menu  # a numbered question: "1" is its first option
    printed = await session.at("2026-12-08 10:00")  # past the carrier's 15 days
    assert FOLLOW_UP[language] in printed and FIRST[language] in printed, printed


async def in_progress(session: Session) -> str | None:
    """Return the flow of the complaint being filled in, None when there is none."""
    assert session.services is not None
    key = ConversationKey(MESSENGER, "tester")
    conversation = await session.services.store.load_conversation(key)
    return None if conversation is None else conversation.flow_id


async def case_state(session: Session) -> str:
    return str((await session.cases())[0]["state"])


@pytest.mark.parametrize(("after", "language"), [(0.0, "zh"), (2.5, "en")])
async def test_a_number_typed_as_a_reminder_prints_is_not_taken(
    terminal: Session, after: float, language: str
) -> None:
    await reminded_at_the_menu(terminal, language)
    terminal.seconds += after
    output = await terminal.send("1")
    assert UNSEEN[language] in output, output
    assert await case_state(terminal) == "follow_up", output  # not marked resolved
    assert await in_progress(terminal) is None, output  # nor a complaint begun from the menu
    terminal.seconds += 5  # they read the follow-up, and answer it
    output = await terminal.send("1")
    assert RESOLVED[language] in output, output
    assert await case_state(terminal) == "resolved"


async def test_a_number_typed_seconds_after_a_reminder_answers_it(terminal: Session) -> None:
    await reminded_at_the_menu(terminal)
    terminal.seconds += 4
    output = await terminal.send("1")
    assert RESOLVED["zh"] in output, output
    assert UNSEEN["zh"] not in output


async def test_piped_input_is_read_as_written(tmp_path: Path) -> None:
    session = Session(tmp_path, stdin=io.StringIO())
    await session.start()
    try:
        await reminded_at_the_menu(session)
        output = await session.send("1")
        assert RESOLVED["zh"] in output, output
    finally:
        await session.stop()
