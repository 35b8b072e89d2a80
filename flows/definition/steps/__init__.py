"""Step kinds: the registry from a step's `expect:` to the module that handles that kind.

Each kind is one module here (text, choice, multi, files, confirm) that reads its YAML keys,
asks its question, takes its answer and shows it in summaries and letters. A new kind is one
module with a `StepKind` subclass, plus its line in `KINDS`.
"""

from __future__ import annotations

from typing import Any

from flows.definition.flow import Step
from flows.definition.steps import choice, confirm, files, multi, text
from flows.definition.steps.kind import StepKind
from flows.definition.texts import Catalog

KINDS: dict[str, StepKind] = {
    kind.name: kind for kind in (text.KIND, choice.KIND, multi.KIND, files.KIND, confirm.KIND)
}


def kind_of(step: Step) -> StepKind:
    """Return the kind that handles `step` (its `expect:`)."""
    return KINDS[step.expect]


def shown(step: Step, value: Any, lang: str, say: Catalog) -> str:
    """Return an answer as the person reads it in a summary (a skipped one says so)."""
    if value is None:
        return say("answer_skipped", lang)
    return kind_of(step).show(step, value, lang, say)


def in_letter(step: Step | None, value: Any, lang: str, say: Catalog) -> str | None:
    """Return an answer as a letter writes it; None for one a letter leaves out.

    An answer no step asked (derived by an action, like `sender_type`) is written when it is
    text or a validated value.
    """
    if value is None:
        return None
    if step is None:
        written = text.written(value, lang)
        if written is None and isinstance(value, str):
            return value
        return written
    return kind_of(step).letter(step, value, lang, say)
