"""Check flow files and build them into Flows; every problem is `file.yaml:LINE: message`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flows.definition.describing import Describing, read_describing
from flows.definition.flow import Flow, FlowSet, Step
from flows.definition.ladder import CHANNELS_FILE, Channel
from flows.definition.ladder_reader import read_channels, read_ladder, read_lifecycle
from flows.definition.lifecycle import LIFECYCLE_FILE
from flows.definition.problems import ID_PATTERN, Problems
from flows.definition.step_reader import StepReader
from flows.definition.texts import ENGINE_TEXTS, Catalog, Texts
from flows.definition.yamlfile import Mapping_

COMMON_FILE = "common.yaml"
_FLOW_KEYS = {"flow", "version", "order", "title", "intro", "steps", "ladder"}
_SHARED_FILES = (COMMON_FILE, CHANNELS_FILE, LIFECYCLE_FILE)
_FILE_NAME = re.compile(r"^(?P<id>[a-z][a-z0-9_]*)(?:@(?P<version>\d+))?\.yaml$")


class Checker(Problems):
    """Read a folder of flow files, collecting every problem instead of stopping at the first."""

    def __init__(self) -> None:
        super().__init__()
        self.channels: dict[str, Channel] = {}
        self.after_ladder: tuple[str, ...] = ()
        self._after_ladder_line = 1
        self.describing = Describing()

    def load(self, directory: Path) -> FlowSet:
        if not directory.is_dir():
            self.file = str(directory)
            self.report(1, "no such folder of flow files")
            return FlowSet(self.languages, Catalog({}, self.languages))
        catalog, templates = self._common(directory / COMMON_FILE)
        self.channels, laws = read_channels(self, directory / CHANNELS_FILE)
        self._check_after_ladder()
        lifecycle = read_lifecycle(self, directory / LIFECYCLE_FILE)
        flows: dict[tuple[str, int], Flow] = {}
        for path in sorted(directory.glob("*.yaml")):
            if path.name in _SHARED_FILES:
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
        return FlowSet(
            self.languages,
            catalog,
            flows,
            self.channels,
            lifecycle,
            self.after_ladder,
            laws,
            self.describing,
        )

    def _common(self, path: Path) -> tuple[Catalog, dict[str, Mapping_]]:
        data = self.read_file(path)
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
            text = self.texts(value, raw_texts.line_of(key), f"texts.{key}")
            if text is not None:
                texts[key] = text
        for key in ENGINE_TEXTS:
            if key not in raw_texts:
                self.report(raw_texts.line, f"texts.{key}: missing (the engine says it)")
        after = data.get("after_ladder", [])
        if isinstance(after, list) and all(isinstance(x, str) for x in after):
            self.after_ladder = tuple(after)
            self._after_ladder_line = data.line_of("after_ladder")
        else:
            self.report(
                data.line_of("after_ladder"), "after_ladder: expected a list of channel ids"
            )
        # Keywords of a flow not in this folder are simply never used (common.yaml is shared).
        self.describing = read_describing(
            self, data.get("describing"), data.line_of("describing"), self.languages
        )
        templates = data.get("templates", {})
        if not isinstance(templates, dict):
            self.report(data.line_of("templates"), "templates: expected a mapping of steps")
            templates = {}
        return Catalog(texts, self.languages), {
            k: v for k, v in templates.items() if isinstance(v, Mapping_)
        }

    def _check_after_ladder(self) -> None:
        self.file = COMMON_FILE
        for channel in self.after_ladder:
            if channel not in self.channels:
                self.report(self._after_ladder_line, f"after_ladder: unknown channel '{channel}'")

    def _flow(self, path: Path, templates: dict[str, Mapping_]) -> Flow | None:
        name = _FILE_NAME.match(path.name)
        data = self.read_file(path)
        if data is None:
            return None
        if name is None:
            self.report(1, "file name must be FLOW.yaml or FLOW@VERSION.yaml")
            return None
        for key in data:
            if key not in _FLOW_KEYS:
                self.report(data.line_of(key), f"unknown key '{key}'")
        flow_id = data.get("flow")
        if not isinstance(flow_id, str) or not ID_PATTERN.match(flow_id):
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
        title = self.texts(data.get("title"), data.line_of("title"), "title")
        intro = data.get("intro")
        intro_texts = self.texts(intro, data.line_of("intro"), "intro") if intro else None
        raw_steps = data.get("steps")
        if not isinstance(raw_steps, list) or not raw_steps:
            self.report(data.line_of("steps"), "steps: expected a list of steps")
            return None
        steps = self._steps(raw_steps, templates, data.line_of("steps"))
        if steps is None or title is None:
            return None
        self._check_graph(steps)
        ladder = read_ladder(self, data.get("ladder"), data.line_of("ladder"), steps, self.channels)
        return Flow(flow_id, version, order, title, intro_texts, steps, path.name, ladder)

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
            step = StepReader(self, raw, following if isinstance(following, str) else None).read()
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
        for step in steps.values():
            for option in step.options:
                for key, values in option.when.items():
                    target = steps.get(key)
                    if target is None or target.expect not in ("choice", "multi"):
                        self.report(
                            option.line, f"option '{option.id}' when: '{key}' is not a choice step"
                        )
                        continue
                    for value in sorted(values - {o.id for o in target.options}):
                        self.report(
                            option.line,
                            f"option '{option.id}' when: '{key}' has no option '{value}'",
                        )
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
