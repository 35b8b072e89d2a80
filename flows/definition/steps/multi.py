"""The `multi` step: toggle any of its options, optionally write an "other", then **done**."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flows.definition.flow import Step
from flows.definition.problems import Problems
from flows.definition.steps.kind import (
    Answer,
    Asked,
    Change,
    Key,
    Moment,
    Prompt,
    Refuse,
    StepKind,
    Taken,
    length_problem,
)
from flows.definition.steps.options import label_of, read_options, typed_option
from flows.definition.texts import Catalog, pick
from flows.definition.yamlfile import Mapping_


class MultiKind(StepKind):
    """A question answered by choosing several options (and maybe writing one's own)."""

    name = "multi"
    keys = frozenset({"options", "other"})

    def read(self, raw: Mapping_, problems: Problems, where: str) -> dict[str, Any]:
        return {
            "options": read_options(raw, problems, where),
            "other": problems.flag(raw, "other"),
        }

    def ask(self, step: Step, now: Moment) -> Asked:
        selected = set(now.pending.get("selected", []))
        rows: list[tuple[Key, ...]] = [
            (Key(f"{'✅' if o.id in selected else '⬜'} {pick(o.label, now.lang)}", "tog", o.id),)
            for o in step.shown(now.answers)
        ]
        if step.other:
            other = now.pending.get("other")
            label = f"✅ {now.t('other')} {other}" if other else f"⬜ {now.t('other')}"
            rows.append((Key(label[:60], "oth"),))
        rows.append((Key(now.t("done"), "ok"),))
        awaiting = bool(now.pending.get("awaiting_other"))
        return Asked(tuple(rows), self.skip_key(step, now), expects_text=awaiting)

    def _other_prompt(self, now: Moment, problem: str = "") -> Prompt:
        text = f"{problem}\n\n{now.t('other_ask')}" if problem else now.t("other_ask")
        return Prompt(text, ((Key(now.t("back"), "back"),),))

    def forward_answers(self, pending: Mapping[str, Any]) -> bool:
        return bool(pending.get("awaiting_other"))  # its text is the "other" answer

    def press(self, step: Step, verb: str, arg: str, now: Moment) -> Taken | None:
        offered = {o.id for o in step.shown(now.answers)}
        if verb == "back" and now.pending.get("awaiting_other"):
            return Change({"awaiting_other": False})  # back from "other…" is back to the list
        if verb == "tog" and arg in offered:
            selected = list(now.pending.get("selected", []))
            if arg in selected:
                selected.remove(arg)
            else:
                selected.append(arg)
            return Change({"selected": selected})
        if verb == "oth" and step.other:
            return Change({"awaiting_other": True}, self._other_prompt(now))
        if verb == "ok":
            chosen = set(now.pending.get("selected", []))
            selected = [o.id for o in step.shown(now.answers) if o.id in chosen]
            other = now.pending.get("other") or None
            if not selected and not other:
                return Refuse(now.t("multi_none_selected"))
            return Answer({"selected": selected, "other": other})
        return super().press(step, verb, arg, now)

    def typed(self, step: Step, text: str, now: Moment) -> Taken:
        if now.pending.get("awaiting_other"):
            if problem := length_problem(step, text.strip(), now):
                # A new question (not an edit of the list): the person is answering in text.
                return Refuse(problem, self._other_prompt(now, problem))
            return Change({"other": text.strip(), "awaiting_other": False})
        option = typed_option(step.shown(now.answers), text, now.lang)
        if option:
            return self.press(step, "tog", option, now) or Refuse(now.t("choose_from_buttons"))
        return Refuse(now.t("choose_or_other" if step.other else "choose_from_buttons"))

    def show(self, step: Step, value: Any, lang: str, say: Catalog) -> str:
        if not isinstance(value, Mapping):
            return str(value)
        labels = [label_of(step, s, lang) for s in value.get("selected", [])]
        if value.get("other"):
            labels.append(f"{say('other', lang)} {value['other']}")
        return ("、" if lang == "zh" else ", ").join(labels)


KIND = MultiKind()
