"""Read one step mapping of a flow file into a Step, reporting what is wrong with it.

The keys every step has (id, expect, label, ask, say, next, actions) are read here; the keys
of its kind by the kind itself (`flows.definition.steps`).
"""

from __future__ import annotations

from flows.definition import actions
from flows.definition.conditions import conditions_of
from flows.definition.flow import Route, Step
from flows.definition.problems import ID_PATTERN, Problems
from flows.definition.steps import KINDS
from flows.definition.yamlfile import Mapping_

_BASE_KEYS = {"id", "expect", "label", "ask", "say", "next", "actions", "use"}


class StepReader:
    """Turn one step mapping into a Step, reporting what is wrong with it."""

    def __init__(self, problems: Problems, raw: Mapping_, following: str | None) -> None:
        self.c = problems
        self.raw = raw
        self.following = following

    def line(self, key: str) -> int:
        return self.raw.line_of(key)

    def read(self) -> Step | None:
        raw = self.raw
        step_id = raw.get("id")
        if not isinstance(step_id, str) or not ID_PATTERN.match(step_id):
            self.c.report(raw.line, f"step id: expected a short lower_case id, got {step_id!r}")
            return None
        expect = raw.get("expect")
        kind = KINDS.get(expect) if isinstance(expect, str) else None
        if kind is None:
            self.c.report(
                self.line("expect"),
                f"step '{step_id}': expect: expected one of {', '.join(KINDS)}, got {expect!r}",
            )
            return None
        allowed = _BASE_KEYS | kind.keys
        for key in raw:
            if key not in allowed:
                self.c.report(self.line(key), f"step '{step_id}': unknown key '{key}' for {expect}")
        where = f"step '{step_id}'"
        texts = {
            key: self.c.texts(raw[key], self.line(key), f"{where}: {key}")
            for key in ("label", "ask", "say", "hint")
            if key in raw
        }
        if not kind.final and "ask" not in raw:
            self.c.report(raw.line, f"{where}: ask: missing (the question to show)")
        routes = self.routes(step_id, final=kind.final)
        own = kind.read(raw, self.c, where)  # the keys of its kind, read by the kind
        return Step(
            id=step_id,
            expect=kind.name,
            line=raw.line,
            label=texts.get("label"),
            ask=texts.get("ask"),
            say=texts.get("say"),
            hint=texts.get("hint"),
            routes=routes,
            actions=self.actions(where),
            **own,
        )

    def actions(self, where: str) -> tuple[str, ...]:
        names = self.raw.get("actions", [])
        if not isinstance(names, list):
            names = [names]
        for name in names:
            if name not in actions.ACTIONS:
                known = ", ".join(sorted(actions.ACTIONS))
                self.c.report(self.line("actions"), f"{where}: unknown action {name!r} ({known})")
        return tuple(str(n) for n in names if n in actions.ACTIONS)

    def routes(self, step_id: str, *, final: bool) -> tuple[Route, ...]:
        raw_next = self.raw.get("next")
        line = self.line("next")
        if final:
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
            routes.append(Route(item["to"], conditions_of(when), item_line))
        if routes and routes[-1].when:
            self.c.report(routes[-1].line, f"step '{step_id}': the last route must have no 'when'")
        return tuple(routes)
