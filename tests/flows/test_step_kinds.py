"""Step kinds: a new kind is one module plus its entry in the registry.

A test-only kind, `rating` (a score from 1 to its `scale`), is registered here and goes the
whole way: read from a flow file with its own key, asked with its buttons, answered by a press
or by typing, refused when out of range, shown in the summary and the case, written in a letter.
"""

from __future__ import annotations

import shutil
from datetime import UTC, date
from pathlib import Path
from typing import Any

import pytest
from engine_chat import Person, open_engine

from bot.letter_facts import answer_texts
from flows.conversation.render import Renderer
from flows.definition.flow import Step
from flows.definition.problems import Problems
from flows.definition.schema import DEFINITIONS, FlowSet, load_flows
from flows.definition.steps import KINDS, in_letter, kind_of, shown
from flows.definition.steps.kind import Answer, Asked, Key, Moment, Refuse, StepKind, Taken
from flows.definition.texts import Catalog
from flows.definition.yamlfile import Mapping_
from flows.errors import FlowError


class RatingKind(StepKind):
    """A score from 1 to `scale`, pressed or typed."""

    name = "rating"
    keys = frozenset({"scale"})
    shows_current = True

    def read(self, raw: Mapping_, problems: Problems, where: str) -> dict[str, Any]:
        scale = problems.number(raw, "scale", 5)
        if scale < 2:
            problems.report(raw.line_of("scale"), f"{where}: scale: expected 2 or more")
            scale = 5
        return {"details": {"scale": scale}}

    def ask(self, step: Step, now: Moment) -> Asked:
        scores = tuple(Key(str(n), "rate", str(n)) for n in range(1, step.details["scale"] + 1))
        return Asked((scores,), self.skip_key(step, now))

    def score(self, step: Step, text: str) -> int | None:
        text = text.strip()
        ok = text.isascii() and text.isdigit() and 1 <= int(text) <= step.details["scale"]
        return int(text) if ok else None

    def press(self, step: Step, verb: str, arg: str, now: Moment) -> Taken | None:
        if verb == "rate" and (score := self.score(step, arg)):
            return Answer(score)
        return super().press(step, verb, arg, now)

    def typed(self, step: Step, text: str, now: Moment) -> Taken:
        score = self.score(step, text)
        return Answer(score) if score else Refuse(now.t("choose_from_buttons"))

    def show(self, step: Step, value: Any, lang: str, say: Catalog) -> str:
        return "★" * value + "☆" * (step.details["scale"] - value)

    def letter(self, step: Step, value: Any, lang: str, say: Catalog) -> str:
        return f"{value}/{step.details['scale']}"


RATED = """\
flow: demo
version: 1
order: 5
title: {zh: 演示, en: Demo}
steps:
  - id: problem
    expect: choice
    ask: {zh: 什么问题？, en: "What problem?"}
    options:
      - id: spam
        label: {zh: 垃圾, en: Spam}
  - id: service
    expect: rating
    scale: 4
    label: {zh: 服务评分, en: Service}
    ask: {zh: 客服打几分？, en: "How was their support?"}
  - id: remedies
    expect: multi
    ask: {zh: 要什么？, en: "What do you want?"}
    options:
      - id: stop
        label: {zh: 停止, en: Stop}
        demand: {zh: 停止发送。, en: Stop sending.}
  - id: summary
    expect: confirm
ladder:
  - channel: samr_12315
    deadline: {days: 15}
"""


def flows_dir(folder: Path, text: str) -> Path:
    """Return a folder with the shipped shared files and `text` as demo.yaml."""
    folder.mkdir()
    for shared in ("common.yaml", "channels.yaml", "lifecycle.yaml"):
        shutil.copy(DEFINITIONS / shared, folder / shared)
    (folder / "demo.yaml").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def rating(monkeypatch: pytest.MonkeyPatch) -> RatingKind:
    kind = RatingKind()
    monkeypatch.setitem(KINDS, kind.name, kind)
    return kind


@pytest.fixture
def rated(tmp_path: Path, rating: RatingKind) -> FlowSet:
    return load_flows(flows_dir(tmp_path / "flows", RATED))


def test_an_unregistered_kind_is_refused_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(FlowError) as caught:
        load_flows(flows_dir(tmp_path / "flows", RATED))
    assert [str(p) for p in caught.value.problems] == [
        "demo.yaml:13: step 'service': expect: expected one of text, choice, multi, files, "
        "confirm, got 'rating'"
    ]


def test_the_kind_reads_its_own_keys(rated: FlowSet) -> None:
    flow = rated.get("demo")
    assert flow is not None
    step = flow.steps["service"]
    assert kind_of(step) is KINDS["rating"]
    assert step.details == {"scale": 4}


def test_the_kind_reports_its_own_mistakes_and_others_keys(
    tmp_path: Path, rating: RatingKind
) -> None:
    text = RATED.replace("scale: 4", "scale: 1\n    min: 2")
    with pytest.raises(FlowError) as caught:
        load_flows(flows_dir(tmp_path / "flows", text))
    assert [str(p) for p in caught.value.problems] == [
        "demo.yaml:15: step 'service': unknown key 'min' for rating",
        "demo.yaml:14: step 'service': scale: expected 2 or more",
    ]


async def test_the_kind_is_asked_answered_and_shown(tmp_path: Path, rated: FlowSet) -> None:
    engine, store = await open_engine(tmp_path, rated)
    try:
        person = Person(engine)
        await person.send("/start")
        await person.press("演示")
        await person.press("垃圾")
        assert "客服打几分？" in person.text
        assert [b.label for b in person.replies[-1].buttons[0]] == ["1", "2", "3", "4"]
        await person.send("5")  # above its scale
        assert "请从下面的选项中选一个。" in person.text, person.text
        assert "客服打几分？" in person.text
        await person.press("3")
        assert "要什么？" in person.text
        await person.press("停止")
        await person.press("完成")
        assert "• 服务评分: ★★★☆" in person.text, person.text
        await person.press("提交投诉")
        number = person.text.split("编号 ")[1].split("。")[0]
        case = await store.get_case(person.key, number)
        assert case is not None and case.answers["service"] == 3
        await person.send(f"/case {number}")
        assert "• 服务评分: ★★★☆" in person.text, person.text
    finally:
        await store.close()


async def test_typing_the_score_answers_it(tmp_path: Path, rated: FlowSet) -> None:
    engine, store = await open_engine(tmp_path, rated)
    try:
        person = Person(engine)
        await person.send("/start")
        await person.press("演示")
        await person.press("垃圾")
        await person.send("４")  # full-width is not a score this kind takes
        assert "请从下面的选项中选一个。" in person.text and "客服打几分？" in person.text
        await person.send("4")
        assert "要什么？" in person.text
        conv = await person.conversation()
        assert conv is not None and conv.answers["service"] == 4
    finally:
        await store.close()


def test_a_letter_writes_the_kind_its_own_way(rated: FlowSet) -> None:
    flow = rated.get("demo")
    assert flow is not None
    step = flow.steps["service"]
    assert in_letter(step, 2, "en", rated.catalog) == "2/4"
    render = Renderer(rated, UTC)
    v, _ = answer_texts(flow, {"problem": "spam", "service": 2}, render, "zh")
    assert v["service"] == "2/4"


# ----------------------------------------------------------------- the built-in kinds, pure

SHIPPED = load_flows()
CATALOG = SHIPPED.catalog
SMS = SHIPPED.get("sms")
assert SMS is not None
STEPS = SMS.steps
TODAY = date(2026, 11, 22)


def now(pending: dict[str, Any] | None = None, **answers: Any) -> Moment:
    return Moment(answers, pending or {}, "en", CATALOG, TODAY)


def outcome(taken: Taken | None) -> Any:
    """Return an outcome as plain data, to compare in a table."""
    if isinstance(taken, Answer):
        return ("answer", taken.value, taken.note)
    if isinstance(taken, Refuse):
        return ("refuse", taken.text, taken.prompt is not None)
    if taken is None:
        return None
    return (type(taken).__name__.lower(), *[getattr(taken, f) for f in taken.__dataclass_fields__])


@pytest.mark.parametrize(
    ("step", "verb", "arg", "moment", "expected"),
    [
        ("problem", "opt", "spam", now(), ("answer", "spam", "")),
        ("problem", "opt", "nonsense", now(), None),  # not offered: the turn says "expired"
        ("problem", "skip", "", now(), None),  # not optional
        ("td_date", "skip", "", now(), ("answer", None, "")),
        ("evidence", "skip", "", now(), ("answer", None, "")),  # min 0
        ("evidence", "ok", "", now(evidence=[{"sha256": "a"}]), ("answer", [{"sha256": "a"}], "")),
        (
            "remedies",
            "tog",
            "stop_sending",
            now(problem="spam"),
            ("change", {"selected": ["stop_sending"]}, None),
        ),
        ("remedies", "tog", "stop_sending", now(problem="code_missing"), None),  # not offered
        (
            "remedies",
            "tog",
            "stop_sending",
            now({"selected": ["stop_sending"]}, problem="spam"),
            ("change", {"selected": []}, None),
        ),
        ("remedies", "ok", "", now(), ("refuse", "Choose at least one, then press Done.", False)),
        (
            "remedies",
            "ok",
            "",
            now({"other": "Pay me"}),
            ("answer", {"selected": [], "other": "Pay me"}, ""),
        ),
        (
            "remedies",
            "back",
            "",
            now({"awaiting_other": True}),
            ("change", {"awaiting_other": False}, None),
        ),
        ("remedies", "back", "", now(), None),  # back to the earlier step: the turn's
        ("summary", "file", "", now(), ("hand", "file", "")),
        ("summary", "edit", "sender", now(), ("hand", "edit", "sender")),
    ],
)
def test_a_press_means_what_its_kind_says(
    step: str, verb: str, arg: str, moment: Moment, expected: Any
) -> None:
    found = STEPS[step]
    assert outcome(kind_of(found).press(found, verb, arg, moment)) == expected


@pytest.mark.parametrize(
    ("step", "text", "moment", "expected"),
    [
        (
            "sender",
            "10690123456789",
            now(),
            ("answer", {"text": "10690123456789", "number": "10690123456789", "kind": "106"}, ""),
        ),
        ("sender", "hello", now(), ("refuse", (STEPS["sender"].hint or {})["en"], False)),
        (
            "details",
            "\u200b ",
            now(),
            ("refuse", "Please write a little more (at least 1 characters).", False),
        ),
        (
            "started",
            "yesterday",
            now(),
            (
                "answer",
                {"text": "yesterday", "date": "2026-11-21"},
                "📅 Noted as Saturday 21 November 2026.",
            ),
        ),
        ("problem", "2", now(), ("answer", "fraud", "")),  # its number in the list
        ("problem", "hello", now(), ("refuse", "Please choose one of the options below.", False)),
        (
            "remedies",
            "hello",
            now(),
            (
                "refuse",
                "Please choose one of the options below; to write your own, choose Other… first, then type it.",
                False,
            ),
        ),
        (
            "remedies",
            "",
            now({"awaiting_other": True}),
            ("refuse", "Please write a little more (at least 1 characters).", True),
        ),
        (
            "remedies",
            " Pay me ",
            now({"awaiting_other": True}),
            ("change", {"other": "Pay me", "awaiting_other": False}, None),
        ),
        (
            "evidence",
            "hello",
            now(),
            (
                "refuse",
                "This step needs screenshots, photos, PDFs or forwarded messages. Press Done when finished.",
                False,
            ),
        ),
    ],
)
def test_a_typed_text_means_what_its_kind_says(
    step: str, text: str, moment: Moment, expected: Any
) -> None:
    found = STEPS[step]
    assert outcome(kind_of(found).typed(found, text, moment)) == expected


@pytest.mark.parametrize(
    ("step", "value", "summary", "letter"),
    [
        ("problem", "spam", "Spam or harassing texts", "Spam or harassing texts"),
        ("started", {"text": "昨天", "date": "2026-11-21"}, "2026-11-21", "21 November 2026"),
        (
            "started",
            {"text": "11月初", "date": "2026-11-01", "part": "early"},
            "2026-11-01 (11月初)",
            "1 November 2026",
        ),
        (
            "sender",
            {"text": "+86 138", "number": "+8613800138000", "kind": "phone"},
            "+86 138",
            "13800138000",
        ),
        (
            "my_number",
            {"text": "a", "numbers": ["+8613800138000", "+862112345678"]},
            "a",
            "13800138000, 02112345678",
        ),
        ("details", "free\ntext", "free\ntext", "free\ntext"),
        (
            "remedies",
            {"selected": ["stop_sending"], "other": "Pay"},
            "Stop texting me, Other… Pay",
            "Stop texting me, Other… Pay",
        ),
        ("evidence", [{"sha256": "a"}, {"sha256": "b"}], "2 item(s)", "2 item(s)"),
        ("td_date", None, "(skipped)", None),
    ],
)
def test_an_answer_is_shown_as_its_kind_writes_it(
    step: str, value: Any, summary: str, letter: str | None
) -> None:
    found = STEPS[step]
    assert shown(found, value, "en", CATALOG) == summary
    assert in_letter(found, value, "en", CATALOG) == letter


@pytest.mark.parametrize(
    ("value", "letter"),
    [
        ("platform_unknown", "platform_unknown"),  # derived by an action: text as it is
        ({"amount": "1234.5", "currency": "CNY", "text": "x"}, "CNY 1,234.50"),
        ({"amount": "0.5", "currency": "ETH", "text": "x"}, "0.5 ETH"),
        ({"id": "T-123", "text": " T-123"}, "T-123"),
        ({"selected": ["a"]}, None),  # no step says how to write it: left out
        (["a"], None),
    ],
)
def test_an_answer_no_step_asked_is_written_when_it_is_text_or_a_value(
    value: Any, letter: str | None
) -> None:
    assert in_letter(None, value, "en", CATALOG) == letter
