"""The bad-input corpus (tests/data/bad_inputs.yaml): reading it, and judging the replies.

Every entry is sent once to someone standing at a given place in an SMS complaint. The reply
must be clear (not empty, no traceback, not the "something went wrong" apology), in the
person's language, say what the entry expects; and the saved conversation must stay valid.
"""

from __future__ import annotations

import copy
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from engine_chat import DATA, FLOWS, Person, conversation_problems, png

from flows.definition.schema import FlowSet
from flows.records import Conversation, StepCommit

CORPUS = DATA / "bad_inputs.yaml"
PLACES = ("idle", "problem", "sender", "started", "content", "evidence", "remedies", "other")
PLACES += ("summary",)
MB = 1024 * 1024
MAX_FILE_SIZE = MB  # the bots under test accept files up to 1 MB

CONTENTS = {
    "png": png(99),
    "pdf": b"%PDF-1.4\n% a tiny test file\n%%EOF\n",
    "pdf-3mb": b"%PDF-1.4\n" + b"0" * (3 * MB),
    "exe": b"MZ\x90\x00\x03\x00\x00\x00 this program cannot be run in DOS mode",
    "empty": b"",
    "text": "就是一段文字 just some text".encode(),
    "html": b"<html><script>alert(1)</script></html>",
    "zip": b"PK\x03\x04\x14\x00\x00\x00\x08\x00 not really compressed",
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
}


@dataclass(frozen=True, slots=True)
class Entry:
    """One bad input and where it is sent."""

    index: int
    raw: dict[str, Any]

    @property
    def what(self) -> str:
        return f"#{self.index} {self.raw['what']} (at {self.at}, {self.lang})"

    @property
    def at(self) -> str:
        return str(self.raw["at"])

    @property
    def lang(self) -> str:
        return str(self.raw["lang"])

    @property
    def expect(self) -> str:
        return str(self.raw["expect"])

    @property
    def text(self) -> str | None:
        return _expand(self.raw["text"]) if "text" in self.raw else None

    def button(self, turn: int) -> str | None:
        if "button" not in self.raw:
            return None
        return _expand(self.raw["button"]).replace("{turn}", str(turn))

    @property
    def file(self) -> dict[str, Any] | None:
        spec = self.raw.get("file")
        if spec is None:
            return None
        content = CONTENTS[spec["content"]]
        return {**spec, "bytes": content, "size": spec.get("size", len(content))}


def _expand(value: Any) -> str:
    if isinstance(value, dict):
        repeated = str(value["repeat"]) * int(value["times"])
        return f"{value.get('prefix', '')}{repeated}{value.get('suffix', '')}"
    return str(value)


def load_corpus(via: str) -> list[Entry]:
    """Return the entries sent through `via` (engine or telegram)."""
    raw = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    return [Entry(i, e) for i, e in enumerate(raw, 1) if e["via"] == via]


async def walk_to_every_place(person: Person) -> dict[str, Conversation]:
    """Walk the SMS spam intake once, keeping the conversation as it is at each place."""
    places: dict[str, Conversation] = {}

    async def keep(place: str) -> None:
        conv = await person.conversation()
        assert conv is not None
        places[place] = copy.deepcopy(conv)

    await person.send("/start")
    await keep("idle")
    for action, place in (
        (lambda: person.press("短信"), "problem"),
        (lambda: person.press("垃圾"), "sender"),
        (lambda: person.send("10690123456789"), "started"),
        (lambda: person.send("昨天"), "frequency"),
        (lambda: person.press("每天"), "content"),
        (lambda: person.send("退订也没用的广告"), "td_reply"),
        (lambda: person.press("退订过"), "td_date"),
        (lambda: person.press("跳过"), "received"),
        (lambda: person.press("跳过"), "carrier"),
        (lambda: person.press("移动"), "my_number"),
        (lambda: person.press("跳过"), "evidence"),
        (lambda: person.press("跳过"), "remedies"),
        (lambda: person.press("其他"), "other"),
    ):
        await action()
        await keep(place)
    await person.press("上一步")  # back from "other…" to the list
    await person.press("停止给我发短信")
    await person.press("完成")
    await keep("summary")
    assert places["summary"].state == "summary" and places["other"].pending["awaiting_other"]
    return places


async def place_person(person: Person, places: dict[str, Conversation], entry: Entry) -> None:
    """Save a copy of the conversation at the entry's place as this person's own."""
    conv = copy.deepcopy(places[entry.at])
    conv.key = person.key
    conv.chat_id = person.key.user_id
    conv.language = entry.lang
    if conv.state is not None:
        conv.draft_id = uuid.uuid4().hex
    await person.engine.store.commit(StepCommit(conv))


# ------------------------------------------------------------------------------ judging

_PLACEHOLDER = re.compile(r"\{[^}]*\}")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _segments(text: str) -> list[str]:
    return [s.strip() for part in _PLACEHOLDER.split(text) for s in part.split("\n") if s.strip()]


class Judge:
    """Tell whether a reply is in a language, and find the words an engine text must show."""

    def __init__(self, flows: FlowSet = FLOWS) -> None:
        self.flows = flows
        texts: dict[str, set[str]] = {lang: set() for lang in flows.languages}
        for key in _catalog_keys(flows):
            for lang in flows.languages:
                texts[lang].update(_segments(flows.catalog(key, lang)))
        for flow in flows.flows.values():
            for lang in flows.languages:
                texts[lang].update(_segments(flow.title.get(lang, "")))
            for step in flow.steps.values():
                for field in (step.ask, step.label, step.hint, step.say):
                    for lang in flows.languages:
                        texts[lang].update(_segments((field or {}).get(lang, "")))
                for option in step.options:
                    for lang in flows.languages:
                        texts[lang].update(_segments(option.label.get(lang, "")))
        # A marker is a piece of text only one language uses, long enough not to occur by chance.
        self.markers = {
            lang: {
                s
                for s in own
                if (len(s) >= 4 if _CJK.search(s) else len(s) >= 14)
                and not any(
                    s in other for o, theirs in texts.items() if o != lang for other in theirs
                )
            }
            for lang, own in texts.items()
        }

    def language_problem(self, text: str, lang: str) -> str | None:
        """Return why `text` is not a reply in `lang`, or None."""
        if not any(m in text for m in self.markers[lang]):
            return f"no {lang} text in the reply"
        foreign = [m for o, ms in self.markers.items() if o != lang for m in ms if m in text]
        if foreign:
            return f"words of another language in a {lang} reply: {foreign[:3]}"
        return None

    def words(self, key: str, lang: str, conv: Conversation) -> str:
        """Return the fixed words the text `key` (or `step_hint`) shows in `lang`."""
        if key == "step_hint":
            flow = self.flows.get(conv.flow_id or "", conv.flow_version)
            assert flow is not None and conv.state is not None
            hint = flow.steps[conv.state].hint or {}
            return hint[lang]
        return max(_segments(self.flows.catalog(key, lang)), key=len)


def _catalog_keys(flows: FlowSet) -> list[str]:
    from flows.conversation.registry import default_registry
    from flows.definition.texts import ENGINE_TEXTS

    commands = default_registry().commands()
    keys = [*ENGINE_TEXTS, "help_intro", "help_outro", *(k for c in commands for k in c.texts)]
    return [k for k in keys if flows.catalog.has(k)]


def reply_problems(
    judge: Judge, entry: Entry, texts: list[str], before: Conversation, after: Conversation | None
) -> list[str]:
    """Return everything wrong with how one entry was answered and what it left saved."""
    problems = []
    joined = "\n".join(texts)
    if not texts or any(not t.strip() for t in texts):
        problems.append(f"an empty reply: {texts!r}")
    if "Traceback" in joined:
        problems.append("a traceback in the reply")
    failed = ("internal_error", "internal_error_saved", "internal_error_stuck")
    for lang in judge.flows.languages:
        if any(judge.flows.catalog(key, lang) in joined for key in failed):
            problems.append("the 'something went wrong' apology")
    if texts and (wrong := judge.language_problem(joined, entry.lang)):
        problems.append(wrong)
    if after is None:
        return [*problems, "the conversation is gone"]
    problems += conversation_problems(after, judge.flows)
    says = entry.raw.get("says")
    if says and (words := judge.words(says, entry.lang, before)) not in joined:
        problems.append(f"the reply does not say {says} ({words!r})")
    if entry.expect == "refused" and (after.state, after.answers, after.history) != (
        before.state,
        before.answers,
        before.history,
    ):
        problems.append(f"saved something: state {before.state} -> {after.state}")
    if entry.expect == "kept" and after.answers.get(before.state or "") != entry.text:
        problems.append(f"not kept exactly: {after.answers.get(before.state or '')!r:.80}")
    return [f"{entry.what}: {p}\n    reply: {joined[:300]!r}" for p in problems]


def corpus_size() -> dict[str, int]:
    """Count the corpus by how it is sent, for the README's figures."""
    raw = yaml.safe_load(Path(CORPUS).read_text(encoding="utf-8"))
    return {via: sum(e["via"] == via for e in raw) for via in ("engine", "telegram")}
