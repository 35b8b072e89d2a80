"""Stateful fuzzing: random sequences of what a person can do, with invariants after each step.

A hypothesis state machine plays one person (and, now and then, a second one) against the real
engine on a real SQLite file: typed answers good and bad, the buttons of the latest reply, stale
buttons from older replies, files (good, duplicate, mismatched, too big), forwards, unusable
media, commands, and restarts (a new Engine over the same file). After every step:

- every reply is a real answer: not empty, no traceback, not the "something went wrong" apology;
- the saved conversation is on a step of the flow version it started on, and every saved answer
  has the shape its step's kind gives;
- every filed case answers every question on its path through its flow, validly;
- every evidence row's file is on disk, and every file on disk belongs to a row or a pending check.

The default profile keeps `make test` quick; `FUZZ_PROFILE=soak` (see `make fuzz`) runs more.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from engine_chat import (
    FLOWS,
    Person,
    attachment,
    case_problems,
    conversation_problems,
    png,
    raw_connection,
)
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bot.explain import AnalysisExplainer
from flows.conversation.engine import Engine
from flows.conversation.handlers.answers import typed_answer
from flows.definition.actions import Invalid
from flows.model import Forward
from storage import SqliteStore

T = TypeVar("T")

settings.register_profile(
    "suite",
    max_examples=50,
    stateful_step_count=50,
    deadline=None,
    derandomize=True,  # the same sequences on every run: a failure in CI reproduces locally
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "soak",
    max_examples=1000,
    stateful_step_count=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
PROFILE = os.environ.get("FUZZ_PROFILE", "suite")

EXPLAINER = AnalysisExplainer()
# What the engine says when handling failed (the step saved or not).
FAILED = ("internal_error", "internal_error_saved", "internal_error_stuck")
APOLOGIES = {FLOWS.catalog(key, lang) for key in FAILED for lang in FLOWS.languages}
NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)

GOOD_TEXTS = [
    "10690123456789",
    "13800138000",
    "95588",
    "昨天",
    "3天前",
    "2026-11-01",
    "11月3日",
    "yesterday",
    "¥1,234.50",
    "50 USDT",
    "TX20261101-0001",
    "退订也没用的广告",
    "【某某银行】您的账户异常，请点击 http://bank-verify.cc 验证，24小时内处理",
    "每天都有",
    "就一次",
    "中国移动",
    "某某科技有限公司",
    "公开道歉",
]
BAD_TEXTS = [
    "",
    " ",
    "\u200b",
    "'; DROP TABLE cases; --",
    "{number}{0}",
    "字" * 4100,
    "🇨🇳" * 30,
    "\x00\x1b[31m",
    "\u202eexe.gnp",
    "2099-01-01",
    "1e309",
]
COMMANDS = [
    "/start",
    "/new",
    "/cancel",
    "/cases",
    "/case TS-2026-000001",
    "/case TS-2026-000002",
    "/case",
    "/lang en",
    "/lang zh",
    "/lang xx",
    "/help",
    "/check",
    "/check 【某某】您的快递丢失，请加QQ 12345678 办理理赔",
    "/forget",
    "/frobnicate",
]
FILES = ["new_png", "same_png", "pdf", "exe_as_pdf", "too_big", "text_file"]
MEDIA = ["voice", "sticker", "location", "contact", "video"]
MAX_FILE_SIZE = 1024 * 1024


class StandInOcr:
    """Reads every screenshot as the same suspicious text (the real OCR is slow to load)."""

    async def read(self, data: bytes) -> str:
        return "【银行】您的账户异常，请点击 http://bank-verify.cc 验证" if data[-1] % 2 else ""


class ConversationFuzz(RuleBasedStateMachine):
    """One person (and sometimes a second) doing random things; the engine must stay sound."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.folder = Path(tempfile.mkdtemp(prefix="fuzz-"))
        self.store: SqliteStore | None = None
        self.files = 0
        self.people: list[Person] = []
        self.engine = self.run(self.open())
        self.people = [Person(self.engine, "alice"), Person(self.engine, "bob")]
        self.raw = raw_connection(self.folder / "db.sqlite3")

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    async def open(self) -> Engine:
        self.store = await SqliteStore.open(self.folder / "db.sqlite3", self.folder / "data")
        engine = Engine(
            FLOWS,
            self.store,
            clock=lambda: NOW,
            explainer=EXPLAINER,
            reader=StandInOcr(),
            max_file_size=MAX_FILE_SIZE,
        )
        for person in self.people:  # the same people, talking to the restarted bot
            person.engine = engine
        return engine

    def teardown(self) -> None:
        self.raw.close()
        if self.store is not None:
            self.run(self.store.close())
        self.loop.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # ------------------------------------------------------------------------ acting

    def act(self, who: int, **incoming: Any) -> None:
        person = self.people[who]
        replies = self.run(person.send(**incoming))
        assert replies, f"no reply to {incoming}"
        for reply in replies:
            assert reply.text.strip(), f"an empty reply to {incoming}"
            assert "Traceback" not in reply.text
            failed = any(apology in reply.text for apology in APOLOGIES)
            assert not failed, f"'something went wrong' for {incoming!r:.200}"

    def progress(self, who: int, pick: int) -> None:
        """Give the current question a valid answer, so sequences get as far as filing."""
        person = self.people[who]
        conv = self.run(person.conversation())
        data = [b.data for b in person.buttons]
        if conv is None or conv.state is None:
            categories = [d for d in data if ":cat:" in d]
            self.act(
                who,
                **(
                    {"button": categories[pick % len(categories)]}
                    if categories
                    else {"text": "/new"}
                ),
            )
            return
        flow = FLOWS.get(conv.flow_id or "", conv.flow_version)
        assert flow is not None
        step = flow.steps[conv.state]
        wanted = {
            "choice": ":opt:",
            "multi": ":ok" if conv.pending.get("selected") else ":tog:",
            "files": ":ok" if conv.answers.get(step.id) else ":skip",
            "confirm": ":file",
        }.get(step.expect)
        if step.expect == "files" and pick % 3 == 0:
            self.send_a_file(who, "new_png" if pick % 2 else "pdf")
            return
        if step.expect == "text":
            today = NOW.date()
            for offset in range(len(GOOD_TEXTS)):
                text = GOOD_TEXTS[(pick + offset) % len(GOOD_TEXTS)]
                try:
                    typed_answer(step, text, today)
                except Invalid:
                    continue
                if len(text) <= step.max_length:
                    self.act(who, text=text)
                    return
            self.act(who, text="x")
            return
        matching = [d for d in data if wanted and d.startswith(f"{conv.turn}:") and wanted in d]
        if step.expect == "files" and not matching:
            matching = [d for d in data if d.startswith(f"{conv.turn}:") and ":ok" in d]
        if matching:
            self.act(who, button=matching[pick % len(matching)])
        else:  # the question is not on screen (after /help, say): show it again
            self.act(who, button="g:resume")

    @rule(who=st.sampled_from([0, 0, 0, 1]), pick=st.integers(0, 40))
    def answer_the_question(self, who: int, pick: int) -> None:
        self.progress(who, pick)

    @rule(who=st.sampled_from([0, 0, 0, 1]), pick=st.integers(0, 40), count=st.integers(2, 12))
    def answer_several_questions(self, who: int, pick: int, count: int) -> None:
        for _ in range(count):  # most people do answer, several questions in a row
            self.progress(who, pick)

    @rule(who=st.sampled_from([0, 0, 0, 1]), pick=st.integers(0, 40))
    def press_a_current_button(self, who: int, pick: int) -> None:
        buttons = self.people[who].buttons
        if not buttons:
            self.act(who, text="/start")
            return
        self.act(who, button=buttons[pick % len(buttons)].data)

    @precondition(lambda self: any(p.seen_buttons for p in self.people))
    @rule(who=st.sampled_from([0, 0, 1]), pick=st.integers(0, 1000))
    def press_an_old_button(self, who: int, pick: int) -> None:
        seen = self.people[who].seen_buttons or self.people[1 - who].seen_buttons
        self.act(who, button=seen[pick % len(seen)].data)  # maybe stale, maybe someone else's

    @rule(
        who=st.sampled_from([0, 0, 0, 1]),
        text=st.one_of(
            st.sampled_from(GOOD_TEXTS), st.sampled_from(BAD_TEXTS), st.text(max_size=40)
        ),
    )
    def type_text(self, who: int, text: str) -> None:
        self.act(who, text=text)

    @rule(who=st.sampled_from([0, 0, 1]), command=st.sampled_from(COMMANDS))
    def send_a_command(self, who: int, command: str) -> None:
        self.act(who, text=command)

    @rule(who=st.sampled_from([0, 0, 1]), kind=st.sampled_from(FILES))
    def send_a_file(self, who: int, kind: str) -> None:
        self.files += 1
        if kind == "new_png":
            sent = attachment(png(self.files), unique=f"f{self.files}")
        elif kind == "same_png":
            sent = attachment(png(0), unique="same")
        elif kind == "pdf":
            content = b"%PDF-1.4\n%" + str(self.files).encode() + b"\n%%EOF\n"
            sent = attachment(content, kind="document", name="r.pdf", mime="application/pdf")
        elif kind == "exe_as_pdf":
            sent = attachment(b"MZ\x90\x00", kind="document", name="x.pdf", mime="application/pdf")
        elif kind == "too_big":
            sent = attachment(png(1), size=50 * MAX_FILE_SIZE)
        else:
            sent = attachment(b"just text", kind="document", name="a.txt", mime="text/plain")
        self.act(who, attachments=(sent,))

    @rule(who=st.sampled_from([0, 0, 1]), text=st.sampled_from(GOOD_TEXTS[10:]))
    def forward_a_message(self, who: int, text: str) -> None:
        self.act(who, text=text, forward=Forward("hidden_user", "某某客服", None, NOW))

    @rule(who=st.sampled_from([0, 1]), kind=st.sampled_from(MEDIA))
    def send_unusable_media(self, who: int, kind: str) -> None:
        self.act(who, unsupported=kind)

    @rule()
    def restart(self) -> None:
        assert self.store is not None
        self.run(self.store.close())
        self.engine = self.run(self.open())

    # ------------------------------------------------------------------------ invariants

    @invariant()
    def conversations_are_on_a_step_of_their_flow(self) -> None:
        for person in self.people:
            conv = self.run(person.conversation())
            if conv is not None:
                assert conversation_problems(conv) == [], conversation_problems(conv)

    @invariant()
    def filed_cases_answer_every_question_on_their_path(self) -> None:
        assert case_problems(self.raw) == []

    @invariant()
    def evidence_files_are_on_disk_and_none_is_left_over(self) -> None:
        rows = {r[0] for r in self.raw.execute("SELECT path FROM evidence WHERE path != ''")}
        for path in rows:
            assert (self.folder / "data" / path).is_file(), f"missing evidence file {path}"
        pending = " ".join(r[0] for r in self.raw.execute("SELECT pending FROM conversations"))
        evidence = self.folder / "data" / "evidence"
        on_disk = {
            str(p.relative_to(self.folder / "data"))
            for p in (evidence.rglob("*") if evidence.exists() else [])
            if p.is_file() and not p.name.startswith(".")
        }
        # A file stays only for an evidence row or a screenshot waiting in a pending check.
        assert rows <= on_disk
        left_over = {path for path in on_disk - rows if path not in pending}
        assert not left_over, f"files no one references: {left_over}"


ConversationFuzz.TestCase.settings = settings.get_profile(PROFILE)
TestConversationFuzz = ConversationFuzz.TestCase
