"""Read one step mapping of a flow file into a Step, reporting what is wrong with it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flows.definition import actions
from flows.definition.ladder import LETTER_KINDS
from flows.definition.schema import EXPECTS, REMEDIES, Option, Route, Step
from flows.definition.texts import Texts
from flows.definition.yamlfile import Mapping_

if TYPE_CHECKING:
    from flows.definition.checker import Checker

ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,23}$")
_BASE_KEYS = {"id", "expect", "label", "ask", "say", "next", "actions", "use"}
_KEYS_BY_EXPECT = {
    "text": {"optional", "validate", "pattern", "hint", "min_length", "max_length", "currency"},
    "choice": {"options", "optional"},
    "multi": {"options", "other"},
    "files": {"min", "max"},
    "confirm": set(),
}


class StepReader:
    """Turn one step mapping into a Step, reporting what is wrong with it."""

    def __init__(self, checker: Checker, raw: Mapping_, following: str | None) -> None:
        self.c = checker
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
            if not isinstance(option_id, str) or not ID_PATTERN.match(option_id):
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
            demand = self.demand(raw, line, f"{where}: option '{option_id}'")
            letters = self.letters(raw, f"{where}: option '{option_id}'")
            when = raw.get("when", {})
            if not isinstance(when, dict):
                self.c.report(raw.line_of("when"), f"{where}: option '{option_id}' when: a mapping")
                when = {}
            if any(o.id == option_id for o in options):
                self.c.report(line, f"{where}: option '{option_id}' appears twice")
            if label is not None:
                options.append(
                    Option(
                        option_id,
                        label,
                        advice_texts,
                        demand,
                        letters,
                        conditions_of(when),
                        raw.line_of("when"),
                    )
                )
        return tuple(options)

    def letters(self, raw: Mapping_, where: str) -> tuple[str, ...]:
        """Read a remedy's `letters:`, the kinds of letter its demand belongs in."""
        value = raw.get("letters", ["complaint", "appeal"])
        if not isinstance(value, list) or not value or not set(value) <= set(LETTER_KINDS):
            self.c.report(
                raw.line_of("letters"),
                f"{where}: letters: expected a list of {', '.join(LETTER_KINDS)}",
            )
            return ("complaint", "appeal")
        return tuple(str(v) for v in value)

    def demand(self, raw: Mapping_, line: int, where: str) -> Texts | None:
        """Read an option's `demand:`; every remedy needs one, since letters quote it."""
        demand = raw.get("demand")
        if demand is not None:
            return self.c._texts(demand, raw.line_of("demand"), f"{where} demand")
        if self.raw.get("id") == REMEDIES:
            self.c.report(line, f"{where}: demand: say how a complaint letter asks for it")
        return None

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
            routes.append(Route(item["to"], conditions_of(when), item_line))
        if routes and routes[-1].when:
            self.c.report(routes[-1].line, f"step '{step_id}': the last route must have no 'when'")
        return tuple(routes)


def conditions_of(when: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """Return a `when:` mapping with every value as a set of option ids."""
    return {
        str(k): frozenset(str(x) for x in (v if isinstance(v, list) else [v]))
        for k, v in when.items()
    }
