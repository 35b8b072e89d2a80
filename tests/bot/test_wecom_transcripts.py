"""The transcripts of tests/transcripts/ run on WeChat, through the fake WeCom.

Each `>` line is what the WeChat user does: a label of a menu on screen is tapped (its
`menu_id` comes back), anything else is typed (a number then presses a numbered button), a
`/file` sends images and PDFs through media/get, `/forward` forwards chat records. The bot's
messages are read as WeChat shows them: a menu's head and items, texts, files by name.

WeChat's rules change three things, and only these:
- past the 5 messages a person's message allows, the bot says "回复「继续」"; the person
  does, and the rest comes (the runner counts these);
- a reminder due after the 48-hour window arrives first with the person's next message: the
  `<` lines after a `~ time` are then checked against what that next message brings;
- letters come as text and a .txt file; a `saved: NAME.md` line checks that the .txt of the
  same letter came.
Every transcript ends with no send refused by the fake WeCom.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from fake_wecom import Delivered, FakeCustomer
from transcripts.test_transcripts import ABSENT, SHANGHAI, TRANSCRIPTS, _dig, _typed
from wecom_chat import DATA, WecomBot, wecom_bot

from bot.case_json import case_to_json

_CASE = re.compile(r"\{case (\d+)( lower)?\}")
_ITEM = re.compile(r"^(\d+\. |· )")
MORE = "回复「继续」"


def shown(messages: list[Delivered]) -> str:
    """Return messages as the transcripts read them: buttons on lines starting with 2 spaces."""
    lines: list[str] = []
    for message in messages:
        if message.msgtype == "file":
            lines.append(f"  [document: {message.file_name}]")
            continue
        for line in message.text.splitlines():
            lines.append(f"  {line}" if _ITEM.match(line) else line)
        lines += [f"  {label}" for _, label in message.menu]
    return "\n".join(lines)


class WecomSession:
    """One WeChat user running a transcript."""

    def __init__(self, bot: WecomBot) -> None:
        self.bot = bot
        self.person: FakeCustomer = bot.customer("wmTranscriptTester")
        self.continued = 0
        self.files: dict[str, bytes] = {}
        self.images: set[str] = set()  # names of images sent: WeChat does not carry them

    def matches(self, expected: str, output: str) -> bool:
        """Return True when `expected` is in `output`, an image's name standing for any name."""
        pattern = re.escape(expected)
        for name in self.images:
            pattern = pattern.replace(re.escape(name), r"photo-[\w.-]+")
        return re.search(pattern, output) is not None

    def _menu_label(self, text: str) -> str | None:
        for message in reversed(self.person.inbox):
            if message.menu:
                for _, label in message.menu:
                    if label.split(". ", 1)[-1] == text:
                        return label
                return None
        return None

    async def send(self, line: str) -> str:
        self.person.new()
        if line.startswith("/file "):
            files = []
            for name in line.split()[1:]:
                pdf = name.endswith(".pdf")
                files.append(
                    (name, (DATA / name).read_bytes(), "application/pdf" if pdf else "image/png")
                )
                if not pdf:
                    self.images.add(name)
            await self.person.send_files(files)
        elif line.startswith("/forward "):
            # The console's forward carries no date; chat records without a time do the same.
            await self.person.forward_chat([("某人", line[len("/forward ") :])], dated=False)
        elif (label := self._menu_label(line)) is not None:
            await self.person.click_menu(label)
        else:
            await self.person.send_text(line)
        await self.bot.settle()
        got = self.person.new()
        while got and MORE in got[-1].text:
            self.continued += 1
            await self.person.send_text("继续")
            await self.bot.settle()
            got += self.person.new()
        for message in got:
            if message.file_name:
                self.files[message.file_name] = message.content
        return shown(got)

    async def at(self, local: str) -> str:
        self.person.new()
        moment = datetime.fromisoformat(local).replace(tzinfo=SHANGHAI)
        self.bot.clock.set(moment)
        assert self.bot.services is not None
        await self.bot.services.scheduler.settle()
        return shown(self.person.new())

    async def cases(self) -> list[dict[str, Any]]:
        services = self.bot.services
        assert services is not None
        records = await services.store.list_all_cases(f"wecom:{self.person.id}")
        return [case_to_json(c, flows=services.flows) for c in records]


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[p.stem for p in TRANSCRIPTS])
async def test_transcript_on_wechat(path: Path, tmp_path: Path) -> None:
    async with wecom_bot(tmp_path) as bot:
        session = WecomSession(bot)
        await run(path, session)
        assert bot.fake.refusals == []
        assert bot.messenger is not None and bot.messenger.refused == 0


async def run(path: Path, session: WecomSession) -> None:
    output = ""
    last_sent = "(start)"
    waiting: list[tuple[str, str]] = []  # checks after a `~ time` the window deferred
    deferred_cases: list[tuple[str, str]] = []  # and `case:` lines after it
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        where = f"{path.name}:{number}"
        if not line or line.startswith("#"):
            continue
        if "{case " in line:
            filed = [case["number"] for case in reversed(await session.cases())]
            line = _CASE.sub(partial(_typed, filed), line)
        if waiting and line.startswith("case:"):
            deferred_cases.append((where, line))
            continue
        if waiting and not line.startswith(("<", "[", "> ")):
            raise AssertionError(f"{where}: a deferred reminder needs a message to arrive")
        if line.startswith("> "):
            last_sent = line[2:]
            output = await session.send(last_sent)
            for check_where, check in waiting:
                assert session.matches(check, output), (
                    f"{check_where}: the deferred reminder lacks {check!r}:\n{output}"
                )
            waiting = []
            for check_where, check in deferred_cases:
                await check_case(session, check_where, check)
            deferred_cases = []
        elif line.startswith("<! "):
            assert not session.matches(line[3:], output), (
                f"{where}: after '> {last_sent}' did not expect {line[3:]!r}:\n{output}"
            )
        elif line.startswith("< "):
            if last_sent.startswith("~ time") and not output:
                waiting.append((where, line[2:]))
                continue
            assert session.matches(line[2:], output), (
                f"{where}: after '> {last_sent}' expected:\n{line[2:]}\n--- got:\n{output}"
            )
        elif line.startswith("[") and line.endswith("]"):
            if last_sent.startswith("~ time") and not output:
                waiting.append((where, line[1:-1]))
                continue
            labels = [
                row.strip().split(". ", 1)[-1].lstrip("· ")
                for row in output.splitlines()
                if row.startswith("  ")
            ]
            assert line[1:-1] in labels, (
                f"{where}: after '> {last_sent}' no button {line}; buttons: {labels}"
            )
        elif line == "~ restart":
            await session.bot.stop()
            await session.bot.start()
        elif line.startswith("~ time "):
            last_sent = line
            output = await session.at(line[len("~ time ") :])
        elif line.startswith("saved:"):
            name, _, text = (part.strip() for part in line[6:].partition("~"))
            if name.endswith(".md"):  # only the .txt of a letter is sent on WeChat
                name, text = name[:-3] + ".txt", ""
            assert name in session.files, (
                f"{where}: no file {name} came; got {sorted(session.files)}"
            )
            if text:
                content = session.files[name].decode()
                assert text in content, f"{where}: {name} lacks {text!r}"
        elif line.startswith("cases:"):
            found = len(await session.cases())
            assert found == int(line.split(":", 1)[1]), f"{where}: {found} cases"
        elif line.startswith("case:"):
            await check_case(session, where, line)
        else:
            raise AssertionError(f"{where}: cannot read this transcript line: {raw!r}")


async def check_case(session: WecomSession, where: str, line: str) -> None:
    """Check a `case: KEY = V` line against the newest filed case."""
    key, _, wanted = line[5:].partition("=")
    cases = await session.cases()
    assert cases, f"{where}: no case filed"
    value = _dig(cases[0], key.strip())
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if wanted.strip() in session.images:  # stored under a name made from its content
        wanted = "photo-" if text.startswith("photo-") else wanted
        text = text[: len("photo-")]
    assert text == wanted.strip() or (value == ABSENT and wanted.strip() == ABSENT), (
        f"{where}: case {key.strip()} is {text!r}"
    )
