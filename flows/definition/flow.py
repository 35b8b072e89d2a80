"""A flow as data: its steps and what each accepts, its routes, and the set of every flow."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flows.definition.conditions import Conditions, conditions_hold
from flows.definition.describing import Describing
from flows.definition.ladder import Channel, Law, Rung
from flows.definition.lifecycle import Lifecycle
from flows.definition.texts import Catalog, Texts

REMEDIES = "remedies"  # the multi step whose options are what the person asks for


@dataclass(frozen=True, slots=True)
class Option:
    """One button of a choice or multi step."""

    id: str
    label: Texts
    advice: Texts | None = None
    demand: Texts | None = None  # how a complaint letter asks for it (remedy options)
    # The kinds of letter the demand belongs in (a police report never asks for "my assets back
    # to my account"; a complaint to the company does).
    letters: tuple[str, ...] = ("complaint", "appeal")
    # Shown only when earlier answers match (a fraud text is not offered "close my account").
    when: Mapping[str, frozenset[str]] = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True, slots=True)
class Route:
    """Where a step leads: to `to`, when every key of `when` has one of its values."""

    to: str
    when: Conditions
    line: int

    def matches(self, answers: Mapping[str, Any]) -> bool:
        """Return True when the answers satisfy this route's condition."""
        return conditions_hold(self.when, answers)

    def describe(self) -> str:
        """Return the condition as text, for diagrams."""
        return ", ".join(f"{k}={'|'.join(sorted(v))}" for k, v in self.when.items())


@dataclass(frozen=True, slots=True)
class Step:
    """One question of a flow, and what it accepts.

    `expect` names its kind (`flows.definition.steps`), which reads the keys below it, asks the
    question, takes the answer and shows it. The built-in kinds keep their settings in typed
    fields; a kind with settings of its own keeps them in `details`.
    """

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
    details: Mapping[str, Any] = field(default_factory=dict)

    def option(self, option_id: str) -> Option | None:
        """Return the option with this id, if the step has it."""
        return next((o for o in self.options if o.id == option_id), None)

    def shown(self, answers: Mapping[str, Any]) -> tuple[Option, ...]:
        """Return the options offered for these earlier answers (each option's `when`)."""
        return tuple(o for o in self.options if conditions_hold(o.when, answers))


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
    ladder: tuple[Rung, ...] = ()

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
    channels: Mapping[str, Channel] = field(default_factory=dict)
    lifecycle: Lifecycle | None = None
    after_ladder: tuple[str, ...] = ()  # channels named when the ladder has no rung left
    laws: Mapping[str, Law] = field(default_factory=dict)  # rights a letter can cite
    describing: Describing = field(
        default_factory=Describing
    )  # tells a description of a problem from a message

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
