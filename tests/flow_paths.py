"""Every path through the category flows, derived from the flow files, and a person walking one.

A path is the answers someone gives, question by question, from the category menu to the
summary. `paths(flow)` builds a covering set, not the cartesian product: for each `problem`
option it walks the flow again and again, each time giving every question the answer used least
so far, until a walk adds nothing new. So every option of every choice question is chosen on
every problem that reaches it, every `next: when:` branch is taken, every remedy is asked for,
"other…" is typed, and optional questions and the evidence step are both answered and skipped.
Nothing here names a step of a particular flow except `ECHOES`: new problems, steps, flows and
validators are walked as soon as they exist (an unknown validator fails with what to add).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine_chat import Person, attachment, png
from hypothesis import Phase, find, settings
from hypothesis import strategies as st

from flows.conversation.callbacks import decode
from flows.definition.schema import REMEDIES, Flow, Step
from flows.definition.texts import pick

PROBLEM = "problem"


@dataclass(frozen=True, slots=True)
class Choose:
    """Press the button of one option."""

    option: str


@dataclass(frozen=True, slots=True)
class Pick:
    """Tick these options of a multi question (and type `other`), then press Done."""

    options: tuple[str, ...]
    other: str | None = None


@dataclass(frozen=True, slots=True)
class Type:
    """Type `text`; the letter must then show each of `shows[lang]`."""

    text: str
    shows: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Attach:
    """Send `count` screenshots, then press Done."""

    count: int = 1


@dataclass(frozen=True, slots=True)
class Skip:
    """Press Skip."""


Answer = Choose | Pick | Type | Attach | Skip


def _same(text: str) -> dict[str, tuple[str, ...]]:
    return {"zh": (text,), "en": (text,)}


# What people type, per validator: each a different kind of answer the letter must handle.
BY_VALIDATOR: dict[str, list[Type]] = {
    "sms_sender": [
        Type("10690123456789", _same("10690123456789")),
        Type("13800138000", _same("13800138000")),
        Type("95555", _same("95555")),
        Type("+852 9123 4567", _same("+85291234567")),
    ],
    "phone_numbers": [
        Type("021-12345678，13912345678", _same("13912345678")),
    ],
    # The letter writes 1,234.50 元 or CNY 1,234.50 or 1234.5 USDT: compared without commas.
    "amount": [Type("1234.5", _same("1234.5"))],
    "date": [Type("2026-11-03", {"zh": ("2026年11月3日",), "en": ("3 November 2026",)})],
    "transaction_id": [Type("TX20261118001", _same("TX20261118001"))],
}

# How people really answer some questions: echoing the question's own words. A letter that puts
# the same words in front of the answer says them twice ("自称来自自称来自…", "UID UID").
ECHOES: dict[str, list[Type]] = {
    "company": [Type("自称来自某某金融", _same("某某金融"))],
    "uid": [Type("UID 88001234", _same("88001234"))],
}

OTHER_REMEDY = "把这件事的处理结果告诉我的家人"


def typed_answers(flow: Flow, step: Step) -> list[Type]:
    """Return the texts to type at a text question, each valid for it."""
    if step.validate is not None:
        if step.validate not in BY_VALIDATOR:
            raise AssertionError(
                f"{flow.file}: no example answer for validator {step.validate!r} "
                "(add some to BY_VALIDATOR in tests/flow_paths.py)"
            )
        return BY_VALIDATOR[step.validate]
    label = pick(step.label or step.ask or {}, "zh")
    names_respondent = any(rung.respondent == step.id for rung in flow.ladder)
    if step.pattern is not None:
        text = find(
            st.from_regex(step.pattern, fullmatch=True),
            lambda s: step.min_length <= len(s.strip()) <= step.max_length and "\n" not in s,
            # The same match every run; no shrinking (it costs seconds, any match will do).
            settings=settings(database=None, derandomize=True, phases=[Phase.generate]),
        ).strip()
    elif names_respondent:
        text = f"某某{label}"  # it becomes who the letter is addressed to
    else:
        text = f"这是“{label}”的回答（{flow.id}.{step.id}）"
    assert step.min_length <= len(text) <= step.max_length, (flow.id, step.id, text)
    return [Type(text, _same(text)), *ECHOES.get(step.id, [])]


def answers_for(flow: Flow, step: Step, so_far: Mapping[str, Any] | None = None) -> list[Answer]:
    """Return every kind of answer worth giving `step`, the ones that change most first.

    Options come from what the step offers after the answers `so_far` (an option's `when`).
    """
    found: list[Answer]
    offered = step.shown(so_far or {})
    if step.expect == "choice":
        found = [Choose(o.id) for o in offered]
    elif step.expect == "multi":
        ids = [o.id for o in offered]
        # Two options a time (a letter lists several demands), each option at least once.
        found = [Pick(tuple(dict.fromkeys(ids[i : i + 2]))) for i in range(0, len(ids), 2)]
        if step.other:
            found.append(Pick((), other=OTHER_REMEDY))
    elif step.expect == "files":
        found = [Attach(max(1, step.min_files))]
        if step.min_files == 0:
            found.append(Skip())
        return found
    elif step.expect == "text":
        found = list(typed_answers(flow, step))
    else:
        raise AssertionError(f"{flow.file}: a path cannot answer a {step.expect!r} step")
    if step.optional:
        found.append(Skip())
    return found


def stored(answer: Answer) -> Any:
    """Return the answer as the conditions of `next` and `ladder` read it."""
    if isinstance(answer, Choose):
        return answer.option
    if isinstance(answer, Pick):
        return {"selected": list(answer.options), "other": answer.other}
    if isinstance(answer, Type):
        return answer.text
    return None


@dataclass(frozen=True)
class Path:
    """The answers given on one walk through a flow, in the order they are asked."""

    flow: Flow
    number: int  # per problem option, from 1
    answers: tuple[tuple[str, Answer], ...]
    lang: str = "zh"
    profile: bool = False  # the person gives a name and a phone for the letter
    routes: frozenset[tuple[str, int]] = field(default_factory=frozenset)  # (step, line)

    @property
    def id(self) -> str:
        problem = self.given.get(PROBLEM)
        option = problem.option if isinstance(problem, Choose) else "?"
        return f"{self.flow.id}-{option}-{self.number}-{self.lang}"

    @property
    def given(self) -> dict[str, Answer]:
        return dict(self.answers)

    @property
    def stored_answers(self) -> dict[str, Any]:
        return {step: stored(answer) for step, answer in self.answers}


def _walk(flow: Flow, problem: str, used: Counter[tuple[str, int]]) -> tuple[list, set]:
    """Walk `flow` once, answering each question its least used way; return answers, routes."""
    answers: list[tuple[str, Answer]] = []
    routes: set[tuple[str, int]] = set()
    state: str | None = flow.first
    while state is not None and flow.steps[state].expect != "confirm":
        step = flow.steps[state]
        if state == PROBLEM:
            answer: Answer = Choose(problem)
        else:
            options = answers_for(flow, step, {s: stored(a) for s, a in answers})
            index = min(range(len(options)), key=lambda i: (used[(step.id, repr(options[i]))], i))
            used[(step.id, repr(options[index]))] += 1
            answer = options[index]
        answers.append((step.id, answer))
        so_far = {s: stored(a) for s, a in answers}
        route = next((r for r in step.routes if r.matches(so_far)), None)
        if route is not None:
            routes.add((step.id, route.line))
        state = route.to if route is not None else None
        assert len(answers) < 100, f"{flow.ref}: a path that never reaches the summary"
    return answers, routes


def paths(flow: Flow) -> list[Path]:
    """Return a covering set of paths through `flow` (see the module docstring)."""
    found: list[Path] = []
    for option in flow.steps[PROBLEM].options:
        used: Counter[tuple[str, int]] = Counter()
        covered: set[Any] = set()
        number = 0
        while True:
            answers, routes = _walk(flow, option.id, used)
            new = {(s, repr(a)) for s, a in answers} | routes
            if new <= covered:
                break
            covered |= new
            number += 1
            found.append(Path(flow, number, tuple(answers), routes=frozenset(routes)))
    # Alternate the language of the conversation and whether a name is given, across all paths.
    return [
        Path(p.flow, p.number, p.answers, ("zh", "en")[i % 2], (i // 2) % 2 == 0, p.routes)
        for i, p in enumerate(found)
    ]


def every_route(flow: Flow) -> set[tuple[str, int]]:
    """Return every `next` branch of the flow as (step, line)."""
    return {(s.id, r.line) for s in flow.steps.values() for r in s.routes}


# ------------------------------------------------------------------------- walking a path


async def press(person: Person, verb: str, arg: str = "") -> None:
    """Press the newest button with this verb (and argument)."""
    for reply in reversed(person.replies):
        for row in reply.buttons:
            for button in row:
                press_ = decode(button.data)
                if press_ is not None and press_.verb == verb and press_.arg == arg:
                    await person.send(button=button.data)
                    return
    raise AssertionError(f"no {verb}:{arg} button in:\n{person.text}")


async def give(person: Person, answer: Answer, seed: int) -> None:
    """Answer the current question the way `answer` says."""
    if isinstance(answer, Choose):
        await press(person, "opt", answer.option)
    elif isinstance(answer, Skip):
        await press(person, "skip")
    elif isinstance(answer, Type):
        await person.send(answer.text)
    elif isinstance(answer, Pick):
        for option in answer.options:
            await press(person, "tog", option)
        if answer.other is not None:
            await press(person, "oth")
            await person.send(answer.other)
        await press(person, "ok")
    else:
        for n in range(answer.count):
            await person.send(attachments=(attachment(png(seed * 10 + n), unique=f"u{seed}-{n}"),))
        await press(person, "ok")


async def walk(person: Person, path: Path, seed: int) -> None:
    """Choose the path's category, answer every question, check each is the one expected."""
    if path.lang != "zh":
        await person.send(f"/lang {path.lang}")
    await person.send("/start")
    await press(person, "cat", path.flow.id)
    for step_id, answer in path.answers:
        conv = await person.conversation()
        assert conv is not None and conv.state == step_id, (
            f"{path.id}: expected the question {step_id!r}, the bot asks "
            f"{conv.state if conv else None!r}:\n{person.text}"
        )
        await give(person, answer, seed)
    conv = await person.conversation()
    assert conv is not None and conv.state == path.flow.confirm_step, (path.id, person.text)


# --------------------------------------------------------------- what a person must receive

LEFTOVERS = re.compile(r"\bNone\b(?!\s+\w)|Undefined|\{\{|\}\}|\{%|%\}|\{#|#\}|\bnull\b")
EMPTY_BRACKETS = re.compile(r"（\s*）|\(\s*\)|「\s*」|“\s*”|【\s*】")
# "UID UID", "the the"; "自称来自自称来自": words said twice in a row.
DOUBLED_LATIN = re.compile(r"\b([A-Za-z]{2,})[\s:：]+\1\b", re.IGNORECASE)
DOUBLED_HAN = re.compile(r"([\u4e00-\u9fff]{2,})\1")
LIST_ITEM = re.compile(r"^\s*(\d+\.|-|•|\*|\d{4}-\d\d-\d\d)\s")


def text_problems(text: str, *, letter: bool = True) -> list[str]:
    """Return what a person should never read in a letter: template leftovers, blanks, echoes.

    Not a `letter` (the case's record in an export): only leftovers and empty fields, since
    there each answer is quoted as typed, "UID: UID 8800" included.
    """
    problems = [f"leftover {m[0]!r}" for m in LEFTOVERS.finditer(text)]
    problems += [f"empty brackets {m[0]!r}" for m in EMPTY_BRACKETS.finditer(text)]
    if not letter:
        return problems + _empty_fields(text)
    problems += [f"doubled {m[0]!r}" for m in DOUBLED_LATIN.finditer(text)]
    problems += [f"doubled {m[0]!r}" for m in DOUBLED_HAN.finditer(text)]
    return problems + _empty_fields(text)


def _empty_fields(text: str) -> list[str]:
    problems = []
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if re.search(r"[：:]\s*$", line):
            following = next((n for n in lines[index + 1 :] if n.strip()), "")
            if not LIST_ITEM.match(following):  # "请你方：" before a list is not an empty field
                problems.append(f"empty field {line.strip()!r}")
    return problems


def expected_shows(path: Path, lang: str) -> list[str]:
    """Return what the letter must quote from the answers: every text typed, "other…" too."""
    shows: list[str] = []
    for _, answer in path.answers:
        if isinstance(answer, Type):
            shows += answer.shows[lang]
        elif isinstance(answer, Pick) and answer.other:
            shows.append(answer.other)
    return shows


def demands(path: Path, lang: str, kind: str) -> list[str]:
    """Return how a letter of `kind` must word each remedy the person ticked for it."""
    chosen = path.given.get(REMEDIES)
    step = path.flow.steps.get(REMEDIES)
    if not isinstance(chosen, Pick) or step is None:
        return []
    return [
        pick(o.demand, lang)
        for o in step.options
        if o.id in chosen.options and o.demand and kind in o.letters
    ]


def missing(text: str, wanted: Sequence[str]) -> list[str]:
    """Return the items of `wanted` that `text` does not contain (commas ignored)."""
    flat = text.replace(",", "")
    return [w for w in wanted if w.replace(",", "") not in flat]
