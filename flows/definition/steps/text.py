"""The `text` step: a typed answer, checked by length, pattern and validator (date, amount...)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from flows.definition import actions, typed_date
from flows.definition.flow import Step
from flows.definition.problems import Problems
from flows.definition.steps.kind import (
    Answer,
    Asked,
    Key,
    Moment,
    Refuse,
    StepKind,
    Taken,
    length_problem,
)
from flows.definition.texts import Catalog, pick
from flows.definition.yamlfile import Mapping_

_CURRENCY_ZH = {"CNY": "元"}


def typed_answer(step: Step, text: str, today: date) -> Any:
    """Return the answer `text` gives a text step: checked, and parsed by its validator.

    Free text is kept exactly as written. Raises `actions.Invalid` when the step's pattern or
    validator refuses it (length is the caller's to check: it words those problems itself).
    """
    if step.pattern is not None and not step.pattern.fullmatch(text.strip()):
        raise actions.Invalid(text)
    if step.validate is None:
        return text
    context = actions.ValidationContext(today=today, currency=step.currency)
    return actions.VALIDATORS[step.validate](text, context)


def written(value: Any, lang: str) -> str | None:
    """Return a validated answer as a letter writes it (date, amount, number, id), else None."""
    if not isinstance(value, Mapping):
        return None
    if "date" in value:
        return typed_date.spoken(date.fromisoformat(str(value["date"])), lang, weekday=False)
    if "amount" in value:
        return money(str(value["amount"]), str(value.get("currency", "CNY")), lang)
    if "number" in value:
        return actions.national(str(value["number"]))
    if "numbers" in value:
        sep = "、" if lang == "zh" else ", "
        return sep.join(actions.national(str(n)) for n in value["numbers"])
    if "id" in value:
        return str(value["id"])
    return None


def money(amount: str, currency: str, lang: str) -> str:
    """Return an amount as a letter writes it: 1,234.50 元, CNY 1,234.50, 0.5 ETH."""
    if currency != "CNY":
        return f"{amount} {currency}"  # crypto amounts keep the precision they were given
    try:
        shown = f"{float(amount):,.2f}"
    except ValueError:
        shown = amount
    if lang == "zh":
        return f"{shown} {_CURRENCY_ZH.get(currency, currency)}"
    return f"{currency} {shown}"


class TextKind(StepKind):
    """A question answered by typing."""

    name = "text"
    keys = frozenset(
        {"optional", "validate", "pattern", "hint", "min_length", "max_length", "currency"}
    )
    shows_current = True

    def read(self, raw: Mapping_, problems: Problems, where: str) -> dict[str, Any]:
        return {
            "optional": problems.flag(raw, "optional"),
            "validate": self._validator(raw, problems, where),
            "pattern": self._pattern(raw, problems, where),
            "min_length": problems.number(raw, "min_length", 1),
            "max_length": problems.number(raw, "max_length", 4000),
            "currency": str(raw.get("currency", "CNY")),
        }

    def _validator(self, raw: Mapping_, problems: Problems, where: str) -> str | None:
        name = raw.get("validate")
        if name is None:
            return None
        if name not in actions.VALIDATORS:
            known = ", ".join(sorted(actions.VALIDATORS))
            problems.report(
                raw.line_of("validate"), f"{where}: unknown validator {name!r} ({known})"
            )
            return None
        if "hint" not in raw:
            problems.report(raw.line_of("validate"), f"{where}: a validated answer needs a hint")
        return str(name)

    def _pattern(self, raw: Mapping_, problems: Problems, where: str) -> re.Pattern[str] | None:
        value = raw.get("pattern")
        if value is None:
            return None
        try:
            compiled = re.compile(str(value))
        except re.error as exc:
            problems.report(raw.line_of("pattern"), f"{where}: pattern is not a valid regex: {exc}")
            return None
        if "hint" not in raw:
            problems.report(raw.line_of("pattern"), f"{where}: a pattern needs a hint")
        return compiled

    def ask(self, step: Step, now: Moment) -> Asked:
        keep = (Key(now.t("keep"), "keep"),) if now.answers.get(step.id) is not None else ()
        return Asked(nav=(*keep, *self.skip_key(step, now)), expects_text=True)

    def forward_answers(self, pending: Mapping[str, Any]) -> bool:
        return True  # a forwarded message's text is the answer (the message's content)

    def typed(self, step: Step, text: str, now: Moment) -> Taken:
        if problem := length_problem(step, text, now):
            return Refuse(problem)
        assert now.today is not None
        try:
            value = typed_answer(step, text, now.today)
        except actions.Invalid as refused:
            return Refuse(self._refusal(step, refused, now))
        return Answer(value, self._read_as(value, now))

    def _refusal(self, step: Step, refused: actions.Invalid, now: Moment) -> str:
        """Return why a typed answer was refused: the validator's own hint, or the step's."""
        if refused.hint is None:
            return pick(step.hint or {}, now.lang)
        values = {
            k: typed_date.spoken(v, now.lang, weekday=False) if isinstance(v, date) else v
            for k, v in refused.values.items()
        }
        return now.t(refused.hint, **values)

    def _read_as(self, value: Any, now: Moment) -> str:
        """Return what a date or amount was read as, when the person did not write it so."""
        if not isinstance(value, Mapping):
            return ""
        typed = str(value.get("text", ""))
        if "date" in value and not typed_date.read_in_full(typed):
            day = typed_date.spoken(date.fromisoformat(str(value["date"])), now.lang)
            key = "date_read_as_part" if value.get("part") else "date_read_as"
            return now.t(key, date=day, typed=typed)
        if "amount" in value and re.sub(r"[^\d.]", "", typed) != value["amount"]:
            shown = actions.spoken_amount(str(value["amount"]), str(value["currency"]), now.lang)
            return now.t("amount_read_as", amount=shown)
        return ""

    def show(self, step: Step, value: Any, lang: str, say: Catalog) -> str:
        if isinstance(value, Mapping) and "date" in value:
            if value.get("part"):  # 11月初 noted as the 1st: say it stands for the words typed
                return f"{value['date']} ({value.get('text', '')})"
            return str(value["date"])  # "昨天" read a week later would mislead
        if isinstance(value, Mapping):
            return str(value.get("text", ""))
        return str(value)

    def letter(self, step: Step, value: Any, lang: str, say: Catalog) -> str:
        shown = written(value, lang)
        return self.show(step, value, lang, say) if shown is None else shown

    def prefill(self, step: Step, given: Any, today: date) -> Any:
        if not isinstance(given, str):
            return None
        try:
            return typed_answer(step, given[: step.max_length], today)
        except actions.Invalid:
            return None


KIND = TextKind()
