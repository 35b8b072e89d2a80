"""Load and validate the flow files; every problem is reported as `file.yaml:LINE: message`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows import actions
from flows.errors import FlowError, Problem
from flows.texts import ENGINE_TEXTS, Catalog, Texts
from flows.yamlfile import Mapping_, YamlSyntaxError, load

DEFINITIONS = Path(__file__).parent / "definitions"
COMMON_FILE = "common.yaml"

EXPECTS = ("text", "choice", "multi", "files", "confirm")
_BASE_KEYS = {"id", "expect", "label", "ask", "say", "next", "actions", "use"}
_KEYS_BY_EXPECT = {
    "text": {
        "optional",
        "validate",
        "pattern",
        "hint",
        "min_length",
        "max_length",
        "currency",
    },
    "choice": {"options", "optional"},
    "multi": {"options", "other"},
    "files": {"min", "max"},
    "confirm": set(),
}
_FLOW_KEYS = {"flow", "version", "order", "title", "intro", "steps"}
_ID = re.compile(r"^[a-z][a-z0-9_]{0,23}$")
_FILE_NAME = re.compile(r"^(?P<id>[a-z][a-z0-9_]*)(?:@(?P<version>\d+))?\.yaml$")


@dataclass(frozen=True, slots=True)
class Option:
    """One button of a choice or multi step."""

    id: str
    label: Texts
    advice: Texts | None = None


@dataclass(frozen=True, slots=True)
class Route:
    """Where a step leads: to `to`, when every key of `when` has one of its values."""

    to: str
    when: Mapping[str, frozenset[str]]
    line: int

    def matches(self, answers: Mapping[str, Any]) -> bool:
        """Return True when the answers satisfy this route's condition."""
        for key, wanted in self.when.items():
            answer = answers.get(key)
            chosen = answer.get("selected", []) if isinstance(answer, Mapping) else [answer]
            if not wanted.intersection(c for c in chosen if isinstance(c, str)):
                return False
        return True

    def describe(self) -> str:
        """Return the condition as text, for diagrams."""
        return ", ".join(f"{k}={'|'.join(sorted(v))}" for k, v in self.when.items())


@dataclass(frozen=True, slots=True)
class Step:
    """One question of a flow, and what it accepts."""

    id: str
    expect: str
    line: int
    label: Texts | None = None
    ask: Texts | None = None
    say: Texts | None = None
    hint: Texts | None = None
    routes: tuple[Route, ...] = ()
    optional: bool = False
    validate: str | None = None
    pattern: re.Pattern[str] | None = None
    min_length: int = 1
    max_length: int = 4000
    currency: str = "CNY"
    options: tuple[Option, ...] = ()
    other: bool = False
    min_files: int = 0
    max_files: int = 10
    actions: tuple[str, ...] = ()

    def option(self, option_id: str) -> Option | None:
        """Return the option with this id, if the step has it."""
        return next((o for o in self.options if o.id == option_id), None)


@dataclass(frozen=True, slots=True)
class Flow:
    """One intake flow: a category's questions in order, with its routes."""

    id: str
    version: int
    order: int
    title: Texts
    intro: Texts | None
    steps: Mapping[str, Step]
    file: str

    @property
    def first(self) -> str:
        return next(iter(self.steps))

    @property
    def confirm_step(self) -> str:
        return next(s.id for s in self.steps.values() if s.expect == "confirm")

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"


@dataclass(frozen=True, slots=True)
class FlowSet:
    """Every flow found in a folder, all versions, and the engine's texts."""

    languages: tuple[str, ...]
    catalog: Catalog
    flows: Mapping[tuple[str, int], Flow] = field(default_factory=dict)

    @property
    def latest(self) -> dict[str, Flow]:
        newest: dict[str, Flow] = {}
        for flow in self.flows.values():
            if flow.id not in newest or flow.version > newest[flow.id].version:
                newest[flow.id] = flow
        return newest

    def categories(self) -> list[Flow]:
        """Return the newest version of each flow, in menu order."""
        return sorted(self.latest.values(), key=lambda f: (f.order, f.id))

    def get(self, flow_id: str, version: int | None = None) -> Flow | None:
        """Return that version of a flow (the newest when no version is given)."""
        if version is None:
            return self.latest.get(flow_id)
        return self.flows.get((flow_id, version))


def load_flows(directory: Path = DEFINITIONS) -> FlowSet:
    """Load every flow under `directory`; raise FlowError listing all problems found."""
    checker = _Checker()
    flow_set = checker.load(directory)
    if checker.problems:
        raise FlowError(checker.problems)
    return flow_set


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.file = ""
        self.languages: tuple[str, ...] = ("zh", "en")

    def report(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.file, line, message))

    def load(self, directory: Path) -> FlowSet:
        if not directory.is_dir():
            self.file = str(directory)
            self.report(1, "no such folder of flow files")
            return FlowSet(self.languages, Catalog({}, self.languages))
        catalog, templates = self._common(directory / COMMON_FILE)
        flows: dict[tuple[str, int], Flow] = {}
        for path in sorted(directory.glob("*.yaml")):
            if path.name == COMMON_FILE:
                continue
            flow = self._flow(path, templates)
            if flow is None:
                continue
            if (flow.id, flow.version) in flows:
                other = flows[(flow.id, flow.version)].file
                self.report(1, f"flow {flow.ref} is also defined in {other}")
                continue
            flows[(flow.id, flow.version)] = flow
        if not flows and not self.problems:
            self.file = str(directory)
            self.report(1, "no flow files found")
        return FlowSet(self.languages, catalog, flows)

    def _read(self, path: Path) -> Mapping_ | None:
        self.file = path.name
        if not path.exists():
            self.report(1, "file is missing")
            return None
        try:
            data = load(path)
        except YamlSyntaxError as exc:
            self.report(exc.line, f"not valid YAML: {exc}")
            return None
        except (OSError, UnicodeDecodeError) as exc:
            self.report(1, f"cannot read: {exc}")
            return None
        if not isinstance(data, Mapping_):
            self.report(1, "expected a mapping at the top of the file")
            return None
        return data

    def _common(self, path: Path) -> tuple[Catalog, dict[str, Mapping_]]:
        data = self._read(path)
        if data is None:
            return Catalog({}, self.languages), {}
        languages = data.get("languages")
        if isinstance(languages, list) and languages and all(isinstance(x, str) for x in languages):
            self.languages = tuple(languages)
        else:
            self.report(data.line_of("languages"), "languages: expected a list like [zh, en]")
        texts: dict[str, Texts] = {}
        raw_texts = data.get("texts")
        if not isinstance(raw_texts, Mapping_):
            self.report(data.line_of("texts"), "texts: expected a mapping of text keys")
            raw_texts = Mapping_()
            raw_texts.key_lines = {}
        for key, value in raw_texts.items():
            text = self._texts(value, raw_texts.line_of(key), f"texts.{key}")
            if text is not None:
                texts[key] = text
        for key in ENGINE_TEXTS:
            if key not in raw_texts:
                self.report(raw_texts.line, f"texts.{key}: missing (the engine says it)")
        templates = data.get("templates", {})
        if not isinstance(templates, dict):
            self.report(data.line_of("templates"), "templates: expected a mapping of steps")
            templates = {}
        return Catalog(texts, self.languages), {
            k: v for k, v in templates.items() if isinstance(v, Mapping_)
        }

    def _texts(self, value: Any, line: int, where: str) -> Texts | None:
        if isinstance(value, Mapping_):
            line = value.line
        if not isinstance(value, dict):
            self.report(line, f"{where}: expected a text per language {list(self.languages)}")
            return None
        ok = True
        for language in self.languages:
            text = value.get(language)
            if not isinstance(text, str) or not text.strip():
                self.report(line, f"{where}: missing translation '{language}'")
                ok = False
        for language in value:
            if language not in self.languages:
                self.report(line, f"{where}: unknown language '{language}'")
                ok = False
        return {k: str(v) for k, v in value.items()} if ok else None

    def _flow(self, path: Path, templates: dict[str, Mapping_]) -> Flow | None:
        name = _FILE_NAME.match(path.name)
        data = self._read(path)
        if data is None:
            return None
        if name is None:
            self.report(1, "file name must be FLOW.yaml or FLOW@VERSION.yaml")
            return None
        for key in data:
            if key not in _FLOW_KEYS:
                self.report(data.line_of(key), f"unknown key '{key}'")
        flow_id = data.get("flow")
        if not isinstance(flow_id, str) or not _ID.match(flow_id):
            self.report(data.line_of("flow"), f"flow: expected an id like 'sms', got {flow_id!r}")
            return None
        if flow_id != name["id"]:
            self.report(data.line_of("flow"), f"flow id '{flow_id}' does not match the file name")
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            self.report(data.line_of("version"), f"version: expected 1, 2, ..., got {version!r}")
            return None
        if name["version"] is not None and int(name["version"]) != version:
            self.report(data.line_of("version"), f"version {version} does not match the file name")
        order = data.get("order", 100)
        if not isinstance(order, int):
            self.report(data.line_of("order"), f"order: expected a number, got {order!r}")
            order = 100
        title = self._texts(data.get("title"), data.line_of("title"), "title")
        intro = data.get("intro")
        intro_texts = self._texts(intro, data.line_of("intro"), "intro") if intro else None
        raw_steps = data.get("steps")
        if not isinstance(raw_steps, list) or not raw_steps:
            self.report(data.line_of("steps"), "steps: expected a list of steps")
            return None
        steps = self._steps(raw_steps, templates, data.line_of("steps"))
        if steps is None or title is None:
            return None
        self._check_graph(steps)
        return Flow(flow_id, version, order, title, intro_texts, steps, path.name)

    def _steps(
        self, raw_steps: list[Any], templates: dict[str, Mapping_], line: int
    ) -> dict[str, Step] | None:
        merged: list[Mapping_] = []
        for raw in raw_steps:
            if not isinstance(raw, Mapping_):
                self.report(line, "each step must be a mapping")
                continue
            merged.append(self._use_template(raw, templates))
        ids = [m.get("id") for m in merged]
        steps: dict[str, Step] = {}
        for index, raw in enumerate(merged):
            following = ids[index + 1] if index + 1 < len(ids) else None
            step = _StepReader(self, raw, following if isinstance(following, str) else None).read()
            if step is None:
                continue
            if step.id in steps:
                self.report(raw.line, f"step '{step.id}' is defined twice")
                continue
            steps[step.id] = step
        return steps if len(steps) == len(merged) else None

    def _use_template(self, raw: Mapping_, templates: dict[str, Mapping_]) -> Mapping_:
        name = raw.get("use")
        if name is None:
            return raw
        template = templates.get(name) if isinstance(name, str) else None
        if template is None:
            self.report(raw.line_of("use"), f"use: unknown template {name!r}")
            return raw
        merged = Mapping_({**template, **raw})
        merged.line = raw.line
        merged.key_lines = {k: raw.key_lines.get(k, raw.line) for k in merged}
        del merged["use"]
        return merged

    def _check_graph(self, steps: dict[str, Step]) -> None:
        confirms = [s for s in steps.values() if s.expect == "confirm"]
        last = list(steps.values())[-1]
        if len(confirms) != 1 or last.expect != "confirm":
            self.report(last.line, "a flow ends with exactly one step with expect: confirm")
        for required, expect in (("problem", "choice"), ("remedies", "multi")):
            found = steps.get(required)
            if found is None or found.expect != expect:
                self.report(1, f"a category flow needs a '{required}' step (expect: {expect})")
        for step in steps.values():
            for route in step.routes:
                if route.to not in steps:
                    self.report(route.line, f"step '{step.id}': next step '{route.to}' not found")
                for key, values in route.when.items():
                    target = steps.get(key)
                    if target is None or target.expect not in ("choice", "multi"):
                        self.report(route.line, f"when: '{key}' is not a choice step of this flow")
                        continue
                    for value in sorted(values - {o.id for o in target.options}):
                        self.report(route.line, f"when: '{key}' has no option '{value}'")
        first = next(iter(steps))
        reachable = _closure(first, lambda s: [r.to for r in steps[s].routes if r.to in steps])
        for step in steps.values():
            if step.id not in reachable:
                self.report(step.line, f"step '{step.id}' cannot be reached from '{first}'")
        if confirms:
            incoming: dict[str, list[str]] = {s: [] for s in steps}
            for step in steps.values():
                for route in step.routes:
                    if route.to in incoming:
                        incoming[route.to].append(step.id)
            finishing = _closure(confirms[0].id, lambda s: incoming[s])
            for step in steps.values():
                if step.id not in finishing and step.id in reachable:
                    self.report(step.line, f"step '{step.id}' has no way out to the summary")


def _closure(start: str, neighbours: Any) -> set[str]:
    seen = {start}
    todo = [start]
    while todo:
        for nxt in neighbours(todo.pop()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


class _StepReader:
    """Turn one step mapping into a Step, reporting what is wrong with it."""

    def __init__(self, checker: _Checker, raw: Mapping_, following: str | None) -> None:
        self.c = checker
        self.raw = raw
        self.following = following

    def line(self, key: str) -> int:
        return self.raw.line_of(key)

    def read(self) -> Step | None:
        raw = self.raw
        step_id = raw.get("id")
        if not isinstance(step_id, str) or not _ID.match(step_id):
            self.c.report(raw.line, f"step id: expected a short lower_case id, got {step_id!r}")
            return None
        expect = raw.get("expect")
        if expect not in EXPECTS:
            self.c.report(
                self.line("expect"),
                f"step '{step_id}': expect: expected one of {', '.join(EXPECTS)}, got {expect!r}",
            )
            return None
        allowed = _BASE_KEYS | _KEYS_BY_EXPECT[expect]
        for key in raw:
            if key not in allowed:
                self.c.report(self.line(key), f"step '{step_id}': unknown key '{key}' for {expect}")
        where = f"step '{step_id}'"
        texts = {
            key: self.c._texts(raw[key], self.line(key), f"{where}: {key}")
            for key in ("label", "ask", "say", "hint")
            if key in raw
        }
        if expect != "confirm" and "ask" not in raw:
            self.c.report(raw.line, f"{where}: ask: missing (the question to show)")
        return Step(
            id=step_id,
            expect=expect,
            line=raw.line,
            label=texts.get("label"),
            ask=texts.get("ask"),
            say=texts.get("say"),
            hint=texts.get("hint"),
            routes=self.routes(step_id, expect),
            optional=self.flag("optional"),
            validate=self.validator(where),
            pattern=self.pattern(where),
            min_length=self.number("min_length", 1),
            max_length=self.number("max_length", 4000),
            currency=str(raw.get("currency", "CNY")),
            options=self.options(where, expect),
            other=self.flag("other"),
            min_files=self.number("min", 0),
            max_files=self.number("max", 10),
            actions=self.actions(where),
        )

    def flag(self, key: str) -> bool:
        value = self.raw.get(key, False)
        if not isinstance(value, bool):
            self.c.report(self.line(key), f"{key}: expected true or false, got {value!r}")
            return False
        return value

    def number(self, key: str, default: int) -> int:
        value = self.raw.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            self.c.report(self.line(key), f"{key}: expected a whole number >= 0, got {value!r}")
            return default
        return value

    def validator(self, where: str) -> str | None:
        name = self.raw.get("validate")
        if name is None:
            return None
        if name not in actions.VALIDATORS:
            known = ", ".join(sorted(actions.VALIDATORS))
            self.c.report(self.line("validate"), f"{where}: unknown validator {name!r} ({known})")
            return None
        if "hint" not in self.raw:
            self.c.report(self.line("validate"), f"{where}: a validated answer needs a hint")
        return str(name)

    def pattern(self, where: str) -> re.Pattern[str] | None:
        value = self.raw.get("pattern")
        if value is None:
            return None
        try:
            compiled = re.compile(str(value))
        except re.error as exc:
            self.c.report(self.line("pattern"), f"{where}: pattern is not a valid regex: {exc}")
            return None
        if "hint" not in self.raw:
            self.c.report(self.line("pattern"), f"{where}: a pattern needs a hint")
        return compiled

    def actions(self, where: str) -> tuple[str, ...]:
        names = self.raw.get("actions", [])
        if not isinstance(names, list):
            names = [names]
        for name in names:
            if name not in actions.ACTIONS:
                known = ", ".join(sorted(actions.ACTIONS))
                self.c.report(self.line("actions"), f"{where}: unknown action {name!r} ({known})")
        return tuple(str(n) for n in names if n in actions.ACTIONS)

    def options(self, where: str, expect: str) -> tuple[Option, ...]:
        if expect not in ("choice", "multi"):
            return ()
        raw_options = self.raw.get("options")
        if not isinstance(raw_options, list) or not raw_options:
            self.c.report(self.line("options"), f"{where}: options: expected a list of options")
            return ()
        options: list[Option] = []
        for raw in raw_options:
            line = raw.line if isinstance(raw, Mapping_) else self.line("options")
            option_id = raw.get("id") if isinstance(raw, dict) else None
            if not isinstance(option_id, str) or not _ID.match(option_id):
                self.c.report(
                    line, f"{where}: option id: expected lower_case id, got {option_id!r}"
                )
                continue
            assert isinstance(raw, Mapping_)
            label = self.c._texts(raw.get("label"), line, f"{where}: option '{option_id}' label")
            advice = raw.get("advice")
            advice_texts = (
                self.c._texts(advice, line, f"{where}: option '{option_id}' advice")
                if advice is not None
                else None
            )
            if any(o.id == option_id for o in options):
                self.c.report(line, f"{where}: option '{option_id}' appears twice")
            if label is not None:
                options.append(Option(option_id, label, advice_texts))
        return tuple(options)

    def routes(self, step_id: str, expect: str) -> tuple[Route, ...]:
        raw_next = self.raw.get("next")
        line = self.line("next")
        if expect == "confirm":
            if raw_next is not None:
                self.c.report(line, f"step '{step_id}': a confirm step has no next")
            return ()
        if raw_next is None:
            if self.following is None:
                self.c.report(self.raw.line, f"step '{step_id}': no next step and none follows")
                return ()
            return (Route(self.following, {}, self.raw.line),)
        if isinstance(raw_next, str):
            return (Route(raw_next, {}, line),)
        if not isinstance(raw_next, list) or not raw_next:
            self.c.report(line, f"step '{step_id}': next: expected a step id or a list of routes")
            return ()
        routes: list[Route] = []
        for item in raw_next:
            item_line = item.line if isinstance(item, Mapping_) else line
            if not isinstance(item, dict) or not isinstance(item.get("to"), str):
                self.c.report(item_line, f"step '{step_id}': each route needs 'to: STEP'")
                continue
            extra = set(item) - {"to", "when"}
            if extra:
                self.c.report(
                    item_line, f"step '{step_id}': unknown route key '{sorted(extra)[0]}'"
                )
            when = item.get("when", {})
            if not isinstance(when, dict):
                self.c.report(item_line, f"step '{step_id}': when: expected a mapping")
                continue
            routes.append(Route(item["to"], _condition(when), item_line))
        if routes and routes[-1].when:
            self.c.report(routes[-1].line, f"step '{step_id}': the last route must have no 'when'")
        return tuple(routes)


def _condition(when: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    return {
        str(k): frozenset(str(x) for x in (v if isinstance(v, list) else [v]))
        for k, v in when.items()
    }
