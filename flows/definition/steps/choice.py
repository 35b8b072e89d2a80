"""The `choice` step: one button among its options (typing a label or its number also works)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flows.definition.flow import Step
from flows.definition.problems import Problems
from flows.definition.steps.kind import Answer, Asked, Key, Moment, StepKind, Taken
from flows.definition.steps.options import label_of, read_options, typed_option
from flows.definition.texts import Catalog, pick
from flows.definition.yamlfile import Mapping_


class ChoiceKind(StepKind):
    """A question answered by pressing one of its options."""

    name = "choice"
    keys = frozenset({"options", "optional"})
    shows_current = True

    def read(self, raw: Mapping_, problems: Problems, where: str) -> dict[str, Any]:
        return {
            "options": read_options(raw, problems, where),
            "optional": problems.flag(raw, "optional"),
        }

    def ask(self, step: Step, now: Moment) -> Asked:
        rows = tuple((Key(pick(o.label, now.lang), "opt", o.id),) for o in step.shown(now.answers))
        return Asked(rows, self.skip_key(step, now))

    def press(self, step: Step, verb: str, arg: str, now: Moment) -> Taken | None:
        if verb == "opt" and any(o.id == arg for o in step.shown(now.answers)):
            return Answer(arg)
        return super().press(step, verb, arg, now)

    def typed(self, step: Step, text: str, now: Moment) -> Taken:
        option = typed_option(step.shown(now.answers), text, now.lang)
        return Answer(option) if option else super().typed(step, text, now)

    def show(self, step: Step, value: Any, lang: str, say: Catalog) -> str:
        return label_of(step, str(value), lang)

    def prefill(self, step: Step, given: Any, today: date) -> Any:
        return given if isinstance(given, str) and step.option(given) else None


KIND = ChoiceKind()
