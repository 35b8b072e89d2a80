"""The options of a choice or multi step: read from YAML, named by typing, shown as labels."""

from __future__ import annotations

from collections.abc import Sequence

from flows.definition.conditions import conditions_of
from flows.definition.flow import REMEDIES, Option, Step
from flows.definition.ladder import LETTER_KINDS
from flows.definition.problems import ID_PATTERN, Problems
from flows.definition.texts import Texts, pick
from flows.definition.typed_text import typed_number
from flows.definition.yamlfile import Mapping_


def read_options(raw_step: Mapping_, problems: Problems, where: str) -> tuple[Option, ...]:
    """Read a step's `options:`, each `{id, label, advice?, demand?, letters?, when?}`."""
    raw_options = raw_step.get("options")
    if not isinstance(raw_options, list) or not raw_options:
        problems.report(
            raw_step.line_of("options"), f"{where}: options: expected a list of options"
        )
        return ()
    remedies = raw_step.get("id") == REMEDIES
    options: list[Option] = []
    for raw in raw_options:
        line = raw.line if isinstance(raw, Mapping_) else raw_step.line_of("options")
        option_id = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(option_id, str) or not ID_PATTERN.match(option_id):
            problems.report(line, f"{where}: option id: expected lower_case id, got {option_id!r}")
            continue
        assert isinstance(raw, Mapping_)
        label = problems.texts(raw.get("label"), line, f"{where}: option '{option_id}' label")
        advice = raw.get("advice")
        advice_texts = (
            problems.texts(advice, line, f"{where}: option '{option_id}' advice")
            if advice is not None
            else None
        )
        demand = _demand(raw, problems, line, f"{where}: option '{option_id}'", remedies)
        letters = _letters(raw, problems, f"{where}: option '{option_id}'")
        when = raw.get("when", {})
        if not isinstance(when, dict):
            problems.report(raw.line_of("when"), f"{where}: option '{option_id}' when: a mapping")
            when = {}
        if any(o.id == option_id for o in options):
            problems.report(line, f"{where}: option '{option_id}' appears twice")
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


def _letters(raw: Mapping_, problems: Problems, where: str) -> tuple[str, ...]:
    """Read a remedy's `letters:`, the kinds of letter its demand belongs in."""
    value = raw.get("letters", ["complaint", "appeal"])
    if not isinstance(value, list) or not value or not set(value) <= set(LETTER_KINDS):
        problems.report(
            raw.line_of("letters"),
            f"{where}: letters: expected a list of {', '.join(LETTER_KINDS)}",
        )
        return ("complaint", "appeal")
    return tuple(str(v) for v in value)


def _demand(
    raw: Mapping_, problems: Problems, line: int, where: str, remedies: bool
) -> Texts | None:
    """Read an option's `demand:`; every remedy needs one, since letters quote it."""
    demand = raw.get("demand")
    if demand is not None:
        return problems.texts(demand, raw.line_of("demand"), f"{where} demand")
    if remedies:
        problems.report(line, f"{where}: demand: say how a complaint letter asks for it")
    return None


def label_of(step: Step, option_id: str, lang: str) -> str:
    """Return the label of one of the step's options (an unknown id as it is)."""
    option = step.option(option_id)
    return pick(option.label, lang) if option else option_id


_END_MARKS = " \t\n。．.!！?？,，、;；"


def _plain(text: str) -> str:
    return " ".join(text.split()).strip(_END_MARKS).casefold()


def typed_option(options: Sequence[Option], text: str, lang: str) -> str | None:
    """Return the id of the option `text` names, or None when it names none or several.

    It names one by its id or its label in any language, by its number in the list ("2"), or
    by the start of its label in the person's language ("垃圾" for "垃圾 / 骚扰短信") when no
    other label there starts the same way.
    """
    wanted = _plain(text)
    if not wanted:
        return None
    for option in options:
        if wanted == option.id.casefold() or wanted in map(_plain, option.label.values()):
            return option.id
    if (number := typed_number(wanted)) is not None:
        return options[number - 1].id if 1 <= number <= len(options) else None
    starting = [o.id for o in options if _plain(pick(o.label, lang)).startswith(wanted)]
    return starting[0] if len(starting) == 1 else None
