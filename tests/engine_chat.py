"""A person talking to the engine directly (no messenger), and reading the database back.

For the reliability tests (bad input, fuzzing, forget me, flow versions): what each person did,
and every row and file the store wrote, checked against what the flows allow.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flows.conversation.engine import Engine
from flows.definition.schema import Flow, FlowSet, Step, load_flows
from flows.model import Attachment, Button, ConversationKey, Incoming, Reply
from flows.records import Conversation
from storage import SqliteStore

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
DATA = Path(__file__).parent / "data"
FLOWS = load_flows()


async def open_engine(
    folder: Path, flows: FlowSet = FLOWS, **options: Any
) -> tuple[Engine, SqliteStore]:
    """Open the store under `folder` (created or reused) and an engine over it."""
    store = await SqliteStore.open(folder / "db.sqlite3", folder / "data")
    return Engine(flows, store, clock=lambda: NOW, **options), store


class Person:
    """Someone chatting with the engine; remembers the buttons of every reply like a client."""

    def __init__(self, engine: Engine, user_id: str = "alice", messenger: str = "test") -> None:
        self.engine = engine
        self.key = ConversationKey(messenger, user_id)
        self.replies: list[Reply] = []
        self.seen_buttons: list[Button] = []  # every button ever shown, for stale presses

    async def send(self, text: str | None = None, **kwargs: Any) -> list[Reply]:
        incoming = Incoming(self.key, self.key.user_id, text=text, **kwargs)
        self.replies = await self.engine.handle(incoming)
        self.seen_buttons += [b for r in self.replies for row in r.buttons for b in row]
        return self.replies

    async def press(self, label: str) -> list[Reply]:
        """Press the newest button whose label contains `label`."""
        button = self.button(label)
        return await self.send(button=button.data)

    def button(self, label: str) -> Button:
        for reply in reversed(self.replies):
            for row in reply.buttons:
                for button in row:
                    if label in button.label:
                        return button
        raise AssertionError(f"no button {label!r} in {self.text}")

    @property
    def buttons(self) -> list[Button]:
        return [b for r in self.replies for row in r.buttons for b in row]

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.replies)

    async def conversation(self) -> Conversation | None:
        return await self.engine.store.load_conversation(self.key)


def png(seed: int = 0) -> bytes:
    """Return a real PNG, different for each seed (the same seed: the same content hash)."""
    return (DATA / "sms-screenshot.png").read_bytes() + seed.to_bytes(4, "big")


def attachment(
    content: bytes,
    *,
    kind: str = "photo",
    name: str | None = None,
    mime: str | None = "image/jpeg",
    size: int | None = None,
    unique: str = "u",
    group: str | None = None,
) -> Attachment:
    async def fetch() -> bytes:
        return content

    return Attachment(
        kind=kind,
        file_name=name,
        mime_type=mime,
        size=len(content) if size is None else size,
        file_id=f"id-{unique}",
        file_unique_id=unique,
        group_id=group,
        fetch=fetch,
    )


async def answer_sms_to_content(person: Person) -> None:
    """From the category menu: choose SMS spam and answer up to the message-text step (5/11)."""
    await person.press("短信")
    await person.press("垃圾")
    await person.send("10690123456789")
    await person.send("昨天")
    await person.press("每天")
    assert "（5/11）" in person.text, person.text


async def walk_sms_to_evidence(person: Person) -> None:
    """Walk the SMS spam intake up to its evidence step (in Chinese)."""
    await person.send("/start")
    await answer_sms_to_content(person)
    await person.send("退订也没用的广告")
    await person.press("退订过")
    await person.press("跳过")  # the day they unsubscribed
    await person.press("跳过")  # when and how many
    await person.press("移动")
    await person.press("跳过")  # the number that received them
    assert "短信截图" in person.text, person.text


async def file_from_evidence(person: Person) -> str:
    """From the evidence step: Done (or Skip), one remedy, Done, file; return the case number."""
    await person.press("完成" if any("完成" in b.label for b in person.buttons) else "跳过")
    await person.press("停止给我发短信")
    await person.press("完成")
    await person.press("提交投诉")
    return person.text.split("编号 ")[1].split("。")[0]


# Every global button about a case, with the number in it (flows/conversation/handlers/case.py):
# the owner-only tests press each with someone else's number.
CASE_BUTTONS = [
    "g:case:{n}",
    "g:fu:{n}:resolved",
    "g:fu:{n}:unsatisfied",
    "g:fu:{n}:no_answer",
    "g:fu:{n}:close",
    "g:snz:{n}",
    "g:snz:{n}:3",
    "g:sent:{n}",
    "g:ans:{n}",
    "g:rate:{n}:5",
    "g:cmt:{n}",
]


# ----------------------------------------------------------------------------- invariants


def answer_fits(step: Step, value: Any) -> bool:
    """Return True when a saved answer has the shape its step's kind produces."""
    if value is None:
        return step.optional or step.expect == "files"
    if step.expect == "choice":
        return isinstance(value, str) and step.option(value) is not None
    if step.expect == "multi":
        return (
            isinstance(value, Mapping)
            and all(isinstance(s, str) and step.option(s) for s in value.get("selected", []))
            and (value.get("other") is None or isinstance(value.get("other"), str))
            and bool(value.get("selected") or value.get("other"))
        )
    if step.expect == "files":
        return (
            isinstance(value, list)
            and len(value) <= step.max_files
            and all(isinstance(v, Mapping) and len(str(v.get("sha256"))) == 64 for v in value)
        )
    if step.expect == "text":
        if step.validate is None:
            return isinstance(value, str) and len(value) <= step.max_length
        return isinstance(value, Mapping)  # validators give structured answers
    return False


def conversation_problems(conv: Conversation, flows: FlowSet = FLOWS) -> list[str]:
    """Return what is wrong with a saved conversation (nothing, when it is in a valid state)."""
    if conv.state is None:
        if conv.flow_id is not None:
            return [f"no step, but flow {conv.flow_id}"]
        return []
    flow = flows.get(conv.flow_id or "", conv.flow_version)
    if flow is None:
        return [f"flow {conv.flow_id}@{conv.flow_version} is not loaded"]
    problems = []
    if conv.state not in flow.steps:
        problems.append(f"state {conv.state!r} is not a step of {flow.ref}")
    for step_id in conv.history:
        if step_id not in flow.steps:
            problems.append(f"history has {step_id!r}, not a step of {flow.ref}")
    for step_id, value in conv.answers.items():
        step = flow.steps.get(step_id)
        if step is not None and not answer_fits(step, value):
            problems.append(f"answer to {step_id!r} ({step.expect}) does not fit: {value!r}")
    if conv.draft_id is None:
        problems.append("an intake without a draft id")
    return problems


def path_of(flow: Flow, answers: Mapping[str, Any]) -> list[Step]:
    """Return the questions a case with these answers went through, in order."""
    path: list[Step] = []
    state: str | None = flow.first
    while state is not None and flow.steps[state].expect != "confirm" and len(path) < 100:
        step = flow.steps[state]
        path.append(step)
        state = next((r.to for r in step.routes if r.matches(answers)), None)
    return path


def case_problems(raw: sqlite3.Connection, flows: FlowSet = FLOWS) -> list[str]:
    """Return what is missing from filed cases: every question on its path, answered."""
    problems = []
    for row in raw.execute("SELECT number, flow_id, flow_version, answers FROM cases"):
        number, flow_id, version = row[0], row[1], row[2]
        answers = json.loads(row[3])
        flow = flows.get(flow_id, version)
        if flow is None:
            problems.append(f"{number}: flow {flow_id}@{version} is not loaded")
            continue
        for step in path_of(flow, answers):
            if step.id not in answers:
                problems.append(f"{number}: no answer to {step.id!r}")
            elif not answer_fits(step, answers[step.id]):
                problems.append(f"{number}: answer to {step.id!r} does not fit")
            elif step.expect == "files" and len(answers[step.id] or []) < step.min_files:
                problems.append(f"{number}: {step.id!r} needs {step.min_files} file(s)")
    return problems


def raw_connection(db: Path) -> sqlite3.Connection:
    """Open a plain second connection to the database, to look at rows as stored."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.row_factory = sqlite3.Row
    return conn
