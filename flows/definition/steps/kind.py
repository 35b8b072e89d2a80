"""What a step kind is: the one unit that reads, asks, takes and shows one kind of step.

A kind is pure: it reads its YAML keys (reporting problems), says which buttons its question
has, turns a press or a typed text into an outcome, and writes a stored answer as text. The
conversation applies the outcome (saves, moves on, stores files): a kind never does I/O.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

from flows.definition.flow import Step
from flows.definition.problems import Problems
from flows.definition.texts import Catalog
from flows.definition.yamlfile import Mapping_


@dataclass(frozen=True, slots=True)
class Key:
    """A button a question offers: its label and the press it sends back (verb, arg)."""

    label: str
    verb: str
    arg: str = ""


Rows = tuple[tuple[Key, ...], ...]


@dataclass(frozen=True, slots=True)
class Asked:
    """What a kind puts under its question: buttons, navigation after "back", typing or not."""

    rows: Rows = ()
    nav: tuple[Key, ...] = ()
    expects_text: bool = False


@dataclass(frozen=True, slots=True)
class Prompt:
    """A question of the kind's own, sent instead of the step's (the text after "other…")."""

    text: str
    rows: Rows = ()
    expects_text: bool = True


@dataclass(frozen=True, slots=True)
class Moment:
    """The conversation as a kind sees it: earlier answers, the step's scratch, the language."""

    answers: Mapping[str, Any]
    pending: Mapping[str, Any]
    lang: str
    say: Catalog
    today: date | None = None  # in the configured timezone; set when an answer is taken

    def t(self, key: str, /, **values: Any) -> str:
        """Return the engine's text `key` in the person's language."""
        return self.say(key, self.lang, **values)


@dataclass(frozen=True, slots=True)
class Answer:
    """The step is answered with `value`; `note` is said before the next question."""

    value: Any
    note: str = ""


@dataclass(frozen=True, slots=True)
class Refuse:
    """The answer is not taken: say `text`, then the question again (or `prompt`)."""

    text: str
    prompt: Prompt | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """The step's scratch changes (a toggle, "other…"): show the question again, or `prompt`."""

    pending: Mapping[str, Any] = field(default_factory=dict)
    prompt: Prompt | None = None


@dataclass(frozen=True, slots=True)
class Hand:
    """The conversation must do this itself: `file` the case, or `edit` the step `arg`."""

    action: str
    arg: str = ""


Taken = Answer | Refuse | Change | Hand

# Spaces, controls, line separators and format marks (zero-width, BOM, RTL/LTR marks) show nothing.
_INVISIBLE = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf"})


def visible_length(text: str) -> int:
    """Return how many characters of `text` show on screen (an answer of none is empty)."""
    return sum(unicodedata.category(ch) not in _INVISIBLE for ch in text)


def length_problem(step: Step, text: str, now: Moment) -> str | None:
    """Return what to say when typed text is too short or too long for the step, else None."""
    if visible_length(text) < step.min_length:
        return now.t("too_short", min=step.min_length)
    if len(text) > step.max_length:
        return now.t("too_long", length=len(text), max=step.max_length)
    return None


class StepKind:
    """One kind of step (`expect:`); subclasses override what their kind does differently."""

    name: ClassVar[str]
    keys: ClassVar[frozenset[str]] = frozenset()  # YAML keys it reads beside the common ones
    final: ClassVar[bool] = False  # the summary: no question of its own, no next step
    shows_current: ClassVar[bool] = False  # asked again, the question repeats the answer
    takes_files: ClassVar[bool] = False  # attachments and forwards answer it

    def read(self, raw: Mapping_, problems: Problems, where: str) -> dict[str, Any]:
        """Return the Step fields its keys give, reporting what is wrong with them."""
        return {}

    def ask(self, step: Step, now: Moment) -> Asked:
        """Return the buttons under the step's question."""
        return Asked(nav=self.skip_key(step, now))

    def skip_key(self, step: Step, now: Moment) -> tuple[Key, ...]:
        """Return the **skip** button when the step may be left unanswered."""
        return (Key(now.t("skip"), "skip"),) if step.optional else ()

    def skippable(self, step: Step) -> bool:
        """Return True when **skip** answers the step with nothing."""
        return step.optional

    def forward_answers(self, pending: Mapping[str, Any]) -> bool:
        """Return True when a forwarded message answers the step (else it is checked)."""
        return self.takes_files

    def press(self, step: Step, verb: str, arg: str, now: Moment) -> Taken | None:
        """Return what a button of this step does; None when it is not the step's own."""
        if verb == "skip" and self.skippable(step):
            return Answer(now.answers.get(step.id) or None)
        return None

    def typed(self, step: Step, text: str, now: Moment) -> Taken:
        """Return what a typed text does to this step."""
        return Refuse(now.t("choose_from_buttons"))

    def show(self, step: Step, value: Any, lang: str, say: Catalog) -> str:
        """Return a stored (not skipped) answer as the person reads it in a summary."""
        return str(value)

    def letter(self, step: Step, value: Any, lang: str, say: Catalog) -> str:
        """Return a stored (not skipped) answer as a letter writes it."""
        return self.show(step, value, lang, say)

    def prefill(self, step: Step, given: Any, today: date) -> Any:
        """Return the answer a checked message gives (text or evidence), or None."""
        return None
