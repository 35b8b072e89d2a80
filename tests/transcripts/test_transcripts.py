"""Whole conversations through the console messenger, written as readable transcript files.

Format of `tests/transcripts/*.txt` (one directive per line; blank lines and `#` comments ignored):

    > TEXT          the person types TEXT (a button number, a label, an answer, /file PATH, /forward TEXT)
    < TEXT          what the bot printed since the last `>` contains TEXT
    <! TEXT         ... and does not contain TEXT
    [LABEL]         ... and offered a button with exactly LABEL (emoji included)
    ~ restart       the bot stops and starts again on the same database and data folder
    ~ time T        the clock moves to T (`YYYY-MM-DD HH:MM`, Shanghai time) and the reminder
                    scheduler runs; `<` lines then read what it printed into the session
    case: KEY = V   the newest filed case, as `complaint-bot cases show --json` prints it, has
                    KEY (dotted path into the JSON, list items by index) equal to V (as text);
                    V = (absent) asserts the case has no such key
    cases: N        the person has exactly N filed cases
    saved: NAME     the console saved a document NAME (a letter, an export) containing text:
                    `saved: NAME ~ TEXT` also asserts it contains TEXT

`{case N}` on any line stands for the number of the Nth case the person filed (numbers are
random, like `TS-2026-K7M4QJ`); `{case N lower}` for it typed in lower case.

`/file NAME` resolves NAME against tests/data/. The clock stands at 2026-11-22 10:00 in
Asia/Shanghai until a `~ time` line moves it.
"""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import pytest

from bot.app import Services
from bot.case_json import case_to_json
from bot.clock import ManualClock
from bot.config import Settings
from bot.messengers.console import MESSENGER, Console
from flows.model import ConversationKey

HERE = Path(__file__).parent
DATA = HERE.parent / "data"
TRANSCRIPTS = sorted(HERE.glob("*.txt"))
NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
SHANGHAI = ZoneInfo("Asia/Shanghai")


class Session:
    """A console session whose output can be read back after each line."""

    def __init__(self, tmp: Path, stdin: TextIO = sys.stdin) -> None:
        self.settings = Settings.defaults().replace(
            storage_db_path=str(tmp / "bot.sqlite3"), storage_data_dir=str(tmp / "data")
        )
        self.stdin = stdin  # a terminal's (isatty) or piped input's: the console tells them apart
        self.seconds = 0.0  # the console's monotonic clock, for how soon a person typed
        self.out = io.StringIO()
        self.documents = Path(self.settings.storage_data_dir)  # the person's folder, at start
        self.clock = ManualClock(NOW)
        self.services: Services | None = None
        self.console: Console | None = None

    async def start(self) -> None:
        self.services = await Services.open(self.settings, clock=self.clock)
        self.documents = self.services.store.documents_dir(ConversationKey(MESSENGER, "tester"))
        self.console = Console(
            self.services,
            user_id="tester",
            stdin=self.stdin,
            stdout=self.out,
            documents=self.documents,
            monotonic=lambda: self.seconds,
        )
        await self.console.start(self.services)  # as `complaint-bot chat` does
        self.services.scheduler.start(self.console.deliver_reminder, self.console.key)

    async def stop(self) -> None:
        if self.services is not None:
            await self.services.scheduler.stop()
            await self.services.close()

    async def at(self, local: str) -> str:
        """Move the clock to a Shanghai time; return what the reminders printed."""
        assert self.services is not None
        self.out.seek(0)
        self.out.truncate()
        self.clock.set(datetime.fromisoformat(local).replace(tzinfo=SHANGHAI).astimezone(UTC))
        await self.services.scheduler.settle()
        return self.out.getvalue()

    async def send(self, line: str) -> str:
        assert self.console is not None
        if line.startswith("/file "):
            line = "/file " + " ".join(str(DATA / name) for name in line.split()[1:])
        self.out.seek(0)
        self.out.truncate()
        await self.console.send(line)
        return self.out.getvalue()

    async def cases(self) -> list[dict[str, Any]]:
        assert self.services is not None
        records = await self.services.store.list_all_cases("console:tester")
        return [case_to_json(c, flows=self.services.flows) for c in records]


ABSENT = "(absent)"
_CASE = re.compile(r"\{case (\d+)( lower)?\}")


def _typed(filed: list[str], placeholder: re.Match[str]) -> str:
    number = filed[int(placeholder[1]) - 1]
    return number.lower() if placeholder[2] else number


def _dig(data: Any, path: str) -> Any:
    try:
        for part in path.split("."):
            data = data[int(part)] if isinstance(data, list) else data[part]
    except (KeyError, IndexError, TypeError):
        return ABSENT
    return data


@pytest.fixture
async def session(tmp_path: Path) -> AsyncIterator[Session]:
    s = Session(tmp_path)
    await s.start()
    yield s
    await s.stop()


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[p.stem for p in TRANSCRIPTS])
async def test_transcript(path: Path, session: Session) -> None:
    output = ""
    last_sent = "(start)"
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        where = f"{path.name}:{number}"
        if not line or line.startswith("#"):
            continue
        if "{case " in line:
            filed = [case["number"] for case in reversed(await session.cases())]
            line = _CASE.sub(partial(_typed, filed), line)
        if line.startswith("> "):
            last_sent = line[2:]
            output = await session.send(last_sent)
        elif line.startswith("<! "):
            assert line[3:] not in output, (
                f"{where}: after '> {last_sent}' did not expect:\n{line[3:]}\n--- got:\n{output}"
            )
        elif line.startswith("< "):
            assert line[2:] in output, (
                f"{where}: after '> {last_sent}' expected:\n{line[2:]}\n--- got:\n{output}"
            )
        elif line.startswith("[") and line.endswith("]"):
            labels = [
                row.split(". ", 1)[-1].lstrip("· ")
                for row in output.splitlines()
                if row.startswith("  ")
            ]
            assert line[1:-1] in labels, (
                f"{where}: after '> {last_sent}' no button {line}; buttons: {labels}"
            )
        elif line == "~ restart":
            await session.stop()
            await session.start()
        elif line.startswith("~ time "):
            last_sent = line
            output = await session.at(line[len("~ time ") :])
        elif line.startswith("saved:"):
            name, _, text = (part.strip() for part in line[6:].partition("~"))
            path_saved = session.documents / name
            assert path_saved.is_file(), f"{where}: no document {name}"
            if text:
                content = path_saved.read_text(encoding="utf-8")
                assert text in content, f"{where}: {name} lacks {text!r}:\n{content}"
        elif line.startswith("cases:"):
            found = len(await session.cases())
            assert found == int(line.split(":", 1)[1]), f"{where}: {found} cases"
        elif line.startswith("case:"):
            key, _, wanted = line[5:].partition("=")
            cases = await session.cases()
            assert cases, f"{where}: no case filed"
            value = _dig(cases[0], key.strip())
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            assert shown == wanted.strip(), f"{where}: case {key.strip()} is {shown!r}"
        else:
            raise AssertionError(f"{where}: cannot read this transcript line: {raw!r}")
